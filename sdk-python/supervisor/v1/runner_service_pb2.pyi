from supervisor._google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from supervisor.v1 import run_pb2 as _run_pb2
from supervisor.v1 import runner_pb2 as _runner_pb2
from supervisor.v1 import task_pb2 as _task_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
RUN_OUTCOME_CANCELED: RunOutcome
RUN_OUTCOME_FAILED: RunOutcome
RUN_OUTCOME_SUCCEEDED: RunOutcome
RUN_OUTCOME_TIMEOUT: RunOutcome
RUN_OUTCOME_UNSPECIFIED: RunOutcome

class ConnectRequest(_message.Message):
    __slots__ = ["batch", "heartbeat", "hello", "output", "run_finished", "run_started"]
    class Batch(_message.Message):
        __slots__ = ["items"]
        ITEMS_FIELD_NUMBER: _ClassVar[int]
        items: _containers.RepeatedCompositeFieldContainer[ConnectRequest.BatchItem]
        def __init__(self, items: _Optional[_Iterable[_Union[ConnectRequest.BatchItem, _Mapping]]] = ...) -> None: ...
    class BatchItem(_message.Message):
        __slots__ = ["output", "run_finished", "run_started"]
        OUTPUT_FIELD_NUMBER: _ClassVar[int]
        RUN_FINISHED_FIELD_NUMBER: _ClassVar[int]
        RUN_STARTED_FIELD_NUMBER: _ClassVar[int]
        output: ConnectRequest.Output
        run_finished: ConnectRequest.RunFinished
        run_started: ConnectRequest.RunStarted
        def __init__(self, run_started: _Optional[_Union[ConnectRequest.RunStarted, _Mapping]] = ..., output: _Optional[_Union[ConnectRequest.Output, _Mapping]] = ..., run_finished: _Optional[_Union[ConnectRequest.RunFinished, _Mapping]] = ...) -> None: ...
    class Heartbeat(_message.Message):
        __slots__ = []
        def __init__(self) -> None: ...
    class Hello(_message.Message):
        __slots__ = ["accepts_batches", "active_run_ids", "capacity", "finished_run_ids", "instance_id", "kinds", "labels", "name", "version"]
        class LabelsEntry(_message.Message):
            __slots__ = ["key", "value"]
            KEY_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            key: str
            value: str
            def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
        ACCEPTS_BATCHES_FIELD_NUMBER: _ClassVar[int]
        ACTIVE_RUN_IDS_FIELD_NUMBER: _ClassVar[int]
        CAPACITY_FIELD_NUMBER: _ClassVar[int]
        FINISHED_RUN_IDS_FIELD_NUMBER: _ClassVar[int]
        INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
        KINDS_FIELD_NUMBER: _ClassVar[int]
        LABELS_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        VERSION_FIELD_NUMBER: _ClassVar[int]
        accepts_batches: bool
        active_run_ids: _containers.RepeatedScalarFieldContainer[str]
        capacity: int
        finished_run_ids: _containers.RepeatedScalarFieldContainer[str]
        instance_id: str
        kinds: _containers.RepeatedScalarFieldContainer[str]
        labels: _containers.ScalarMap[str, str]
        name: str
        version: str
        def __init__(self, name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., kinds: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., version: _Optional[str] = ..., active_run_ids: _Optional[_Iterable[str]] = ..., instance_id: _Optional[str] = ..., finished_run_ids: _Optional[_Iterable[str]] = ..., accepts_batches: bool = ...) -> None: ...
    class Output(_message.Message):
        __slots__ = ["data", "offset", "run_id", "seq", "stream"]
        DATA_FIELD_NUMBER: _ClassVar[int]
        OFFSET_FIELD_NUMBER: _ClassVar[int]
        RUN_ID_FIELD_NUMBER: _ClassVar[int]
        SEQ_FIELD_NUMBER: _ClassVar[int]
        STREAM_FIELD_NUMBER: _ClassVar[int]
        data: bytes
        offset: int
        run_id: str
        seq: int
        stream: _run_pb2.OutputStream
        def __init__(self, run_id: _Optional[str] = ..., stream: _Optional[_Union[_run_pb2.OutputStream, str]] = ..., data: _Optional[bytes] = ..., seq: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...
    class RunFinished(_message.Message):
        __slots__ = ["error", "exit_code", "failed_init_step", "log_url", "outcome", "output_bytes", "result", "retry_after", "retry_after_key", "run_id"]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
        FAILED_INIT_STEP_FIELD_NUMBER: _ClassVar[int]
        LOG_URL_FIELD_NUMBER: _ClassVar[int]
        OUTCOME_FIELD_NUMBER: _ClassVar[int]
        OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
        RESULT_FIELD_NUMBER: _ClassVar[int]
        RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
        RETRY_AFTER_KEY_FIELD_NUMBER: _ClassVar[int]
        RUN_ID_FIELD_NUMBER: _ClassVar[int]
        error: str
        exit_code: int
        failed_init_step: int
        log_url: str
        outcome: RunOutcome
        output_bytes: int
        result: _struct_pb2.Struct
        retry_after: _duration_pb2.Duration
        retry_after_key: str
        run_id: str
        def __init__(self, run_id: _Optional[str] = ..., exit_code: _Optional[int] = ..., outcome: _Optional[_Union[RunOutcome, str]] = ..., error: _Optional[str] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., output_bytes: _Optional[int] = ..., log_url: _Optional[str] = ..., failed_init_step: _Optional[int] = ..., retry_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., retry_after_key: _Optional[str] = ...) -> None: ...
    class RunStarted(_message.Message):
        __slots__ = ["log_url", "run_id"]
        LOG_URL_FIELD_NUMBER: _ClassVar[int]
        RUN_ID_FIELD_NUMBER: _ClassVar[int]
        log_url: str
        run_id: str
        def __init__(self, run_id: _Optional[str] = ..., log_url: _Optional[str] = ...) -> None: ...
    BATCH_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    RUN_FINISHED_FIELD_NUMBER: _ClassVar[int]
    RUN_STARTED_FIELD_NUMBER: _ClassVar[int]
    batch: ConnectRequest.Batch
    heartbeat: ConnectRequest.Heartbeat
    hello: ConnectRequest.Hello
    output: ConnectRequest.Output
    run_finished: ConnectRequest.RunFinished
    run_started: ConnectRequest.RunStarted
    def __init__(self, hello: _Optional[_Union[ConnectRequest.Hello, _Mapping]] = ..., heartbeat: _Optional[_Union[ConnectRequest.Heartbeat, _Mapping]] = ..., run_started: _Optional[_Union[ConnectRequest.RunStarted, _Mapping]] = ..., output: _Optional[_Union[ConnectRequest.Output, _Mapping]] = ..., run_finished: _Optional[_Union[ConnectRequest.RunFinished, _Mapping]] = ..., batch: _Optional[_Union[ConnectRequest.Batch, _Mapping]] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ["ack", "assign", "batch", "cancel", "drain", "welcome"]
    class Ack(_message.Message):
        __slots__ = ["runs"]
        RUNS_FIELD_NUMBER: _ClassVar[int]
        runs: _containers.RepeatedCompositeFieldContainer[ConnectResponse.RunAck]
        def __init__(self, runs: _Optional[_Iterable[_Union[ConnectResponse.RunAck, _Mapping]]] = ...) -> None: ...
    class Assign(_message.Message):
        __slots__ = ["attempt", "deadline", "run_id", "spec", "task_id", "traceparent"]
        ATTEMPT_FIELD_NUMBER: _ClassVar[int]
        DEADLINE_FIELD_NUMBER: _ClassVar[int]
        RUN_ID_FIELD_NUMBER: _ClassVar[int]
        SPEC_FIELD_NUMBER: _ClassVar[int]
        TASK_ID_FIELD_NUMBER: _ClassVar[int]
        TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
        attempt: int
        deadline: _timestamp_pb2.Timestamp
        run_id: str
        spec: _task_pb2.TaskSpec
        task_id: str
        traceparent: str
        def __init__(self, run_id: _Optional[str] = ..., task_id: _Optional[str] = ..., attempt: _Optional[int] = ..., spec: _Optional[_Union[_task_pb2.TaskSpec, _Mapping]] = ..., deadline: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., traceparent: _Optional[str] = ...) -> None: ...
    class Batch(_message.Message):
        __slots__ = ["items"]
        ITEMS_FIELD_NUMBER: _ClassVar[int]
        items: _containers.RepeatedCompositeFieldContainer[ConnectResponse.BatchItem]
        def __init__(self, items: _Optional[_Iterable[_Union[ConnectResponse.BatchItem, _Mapping]]] = ...) -> None: ...
    class BatchItem(_message.Message):
        __slots__ = ["assign", "cancel"]
        ASSIGN_FIELD_NUMBER: _ClassVar[int]
        CANCEL_FIELD_NUMBER: _ClassVar[int]
        assign: ConnectResponse.Assign
        cancel: ConnectResponse.Cancel
        def __init__(self, assign: _Optional[_Union[ConnectResponse.Assign, _Mapping]] = ..., cancel: _Optional[_Union[ConnectResponse.Cancel, _Mapping]] = ...) -> None: ...
    class Cancel(_message.Message):
        __slots__ = ["grace_period", "reason", "run_id"]
        GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
        REASON_FIELD_NUMBER: _ClassVar[int]
        RUN_ID_FIELD_NUMBER: _ClassVar[int]
        grace_period: _duration_pb2.Duration
        reason: str
        run_id: str
        def __init__(self, run_id: _Optional[str] = ..., reason: _Optional[str] = ..., grace_period: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...
    class Drain(_message.Message):
        __slots__ = []
        def __init__(self) -> None: ...
    class RunAck(_message.Message):
        __slots__ = ["finished", "output_seq", "run_id"]
        FINISHED_FIELD_NUMBER: _ClassVar[int]
        OUTPUT_SEQ_FIELD_NUMBER: _ClassVar[int]
        RUN_ID_FIELD_NUMBER: _ClassVar[int]
        finished: bool
        output_seq: int
        run_id: str
        def __init__(self, run_id: _Optional[str] = ..., output_seq: _Optional[int] = ..., finished: bool = ...) -> None: ...
    class Welcome(_message.Message):
        __slots__ = ["accepts_batches", "heartbeat_interval", "lease_ttl", "output_cap_bytes", "runner_id"]
        ACCEPTS_BATCHES_FIELD_NUMBER: _ClassVar[int]
        HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
        LEASE_TTL_FIELD_NUMBER: _ClassVar[int]
        OUTPUT_CAP_BYTES_FIELD_NUMBER: _ClassVar[int]
        RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
        accepts_batches: bool
        heartbeat_interval: _duration_pb2.Duration
        lease_ttl: _duration_pb2.Duration
        output_cap_bytes: int
        runner_id: str
        def __init__(self, runner_id: _Optional[str] = ..., heartbeat_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., lease_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., output_cap_bytes: _Optional[int] = ..., accepts_batches: bool = ...) -> None: ...
    ACK_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ack: ConnectResponse.Ack
    assign: ConnectResponse.Assign
    batch: ConnectResponse.Batch
    cancel: ConnectResponse.Cancel
    drain: ConnectResponse.Drain
    welcome: ConnectResponse.Welcome
    def __init__(self, welcome: _Optional[_Union[ConnectResponse.Welcome, _Mapping]] = ..., assign: _Optional[_Union[ConnectResponse.Assign, _Mapping]] = ..., cancel: _Optional[_Union[ConnectResponse.Cancel, _Mapping]] = ..., drain: _Optional[_Union[ConnectResponse.Drain, _Mapping]] = ..., ack: _Optional[_Union[ConnectResponse.Ack, _Mapping]] = ..., batch: _Optional[_Union[ConnectResponse.Batch, _Mapping]] = ...) -> None: ...

class DeleteRunnerRequest(_message.Message):
    __slots__ = ["runner_id"]
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    runner_id: str
    def __init__(self, runner_id: _Optional[str] = ...) -> None: ...

class DeleteRunnerResponse(_message.Message):
    __slots__ = ["runner"]
    RUNNER_FIELD_NUMBER: _ClassVar[int]
    runner: _runner_pb2.Runner
    def __init__(self, runner: _Optional[_Union[_runner_pb2.Runner, _Mapping]] = ...) -> None: ...

class DrainRunnerRequest(_message.Message):
    __slots__ = ["runner_id"]
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    runner_id: str
    def __init__(self, runner_id: _Optional[str] = ...) -> None: ...

class DrainRunnerResponse(_message.Message):
    __slots__ = ["runner"]
    RUNNER_FIELD_NUMBER: _ClassVar[int]
    runner: _runner_pb2.Runner
    def __init__(self, runner: _Optional[_Union[_runner_pb2.Runner, _Mapping]] = ...) -> None: ...

class ListRunnersRequest(_message.Message):
    __slots__ = ["label_selector", "page_size", "page_token"]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    label_selector: str
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., label_selector: _Optional[str] = ...) -> None: ...

class ListRunnersResponse(_message.Message):
    __slots__ = ["next_page_token", "runners"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RUNNERS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    runners: _containers.RepeatedCompositeFieldContainer[_runner_pb2.Runner]
    def __init__(self, runners: _Optional[_Iterable[_Union[_runner_pb2.Runner, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UndrainRunnerRequest(_message.Message):
    __slots__ = ["runner_id"]
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    runner_id: str
    def __init__(self, runner_id: _Optional[str] = ...) -> None: ...

class UndrainRunnerResponse(_message.Message):
    __slots__ = ["runner"]
    RUNNER_FIELD_NUMBER: _ClassVar[int]
    runner: _runner_pb2.Runner
    def __init__(self, runner: _Optional[_Union[_runner_pb2.Runner, _Mapping]] = ...) -> None: ...

class RunOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
