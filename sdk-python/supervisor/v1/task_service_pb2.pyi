from supervisor._google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from supervisor._google.rpc import status_pb2 as _status_pb2
from supervisor.v1 import run_pb2 as _run_pb2
from supervisor.v1 import task_pb2 as _task_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EVENT_TYPE_ADDED: EventType
EVENT_TYPE_BOOKMARK: EventType
EVENT_TYPE_DELETED: EventType
EVENT_TYPE_MODIFIED: EventType
EVENT_TYPE_UNSPECIFIED: EventType

class BatchSubmitTasksRequest(_message.Message):
    __slots__ = ["requests", "return_partial_success"]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    RETURN_PARTIAL_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[SubmitTaskRequest]
    return_partial_success: bool
    def __init__(self, requests: _Optional[_Iterable[_Union[SubmitTaskRequest, _Mapping]]] = ..., return_partial_success: bool = ...) -> None: ...

class BatchSubmitTasksResponse(_message.Message):
    __slots__ = ["failed_requests", "tasks"]
    class FailedRequestsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: _status_pb2.Status
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
    FAILED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    failed_requests: _containers.MessageMap[int, _status_pb2.Status]
    tasks: _containers.RepeatedCompositeFieldContainer[_task_pb2.Task]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_task_pb2.Task, _Mapping]]] = ..., failed_requests: _Optional[_Mapping[int, _status_pb2.Status]] = ...) -> None: ...

class CancelTaskRequest(_message.Message):
    __slots__ = ["id", "reason"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelTaskResponse(_message.Message):
    __slots__ = ["task"]
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ...) -> None: ...

class CancelTasksRequest(_message.Message):
    __slots__ = ["all", "dry_run", "filter", "reason"]
    ALL_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    all: bool
    dry_run: bool
    filter: TaskFilter
    reason: str
    def __init__(self, filter: _Optional[_Union[TaskFilter, _Mapping]] = ..., reason: _Optional[str] = ..., dry_run: bool = ..., all: bool = ...) -> None: ...

class CancelTasksResponse(_message.Message):
    __slots__ = ["canceled", "matched", "task_ids"]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    canceled: int
    matched: int
    task_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, matched: _Optional[int] = ..., canceled: _Optional[int] = ..., task_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ExplainTaskRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExplainTaskResponse(_message.Message):
    __slots__ = ["blockers", "runners", "task"]
    BLOCKERS_FIELD_NUMBER: _ClassVar[int]
    RUNNERS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    blockers: _containers.RepeatedCompositeFieldContainer[WaitBlocker]
    runners: _containers.RepeatedCompositeFieldContainer[RunnerFit]
    task: _task_pb2.Task
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., blockers: _Optional[_Iterable[_Union[WaitBlocker, _Mapping]]] = ..., runners: _Optional[_Iterable[_Union[RunnerFit, _Mapping]]] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTaskResponse(_message.Message):
    __slots__ = ["task"]
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ...) -> None: ...

class ListTaskRunsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "task_id"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    task_id: str
    def __init__(self, task_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTaskRunsResponse(_message.Message):
    __slots__ = ["next_page_token", "runs"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    runs: _containers.RepeatedCompositeFieldContainer[_run_pb2.Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[_run_pb2.Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ["filter", "page_size", "page_token"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: TaskFilter
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[_Union[TaskFilter, _Mapping]] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ["next_page_token", "revision", "tasks"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    revision: int
    tasks: _containers.RepeatedCompositeFieldContainer[_task_pb2.Task]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_task_pb2.Task, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class OutputChunk(_message.Message):
    __slots__ = ["data", "offset", "seq", "stream", "time"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    seq: int
    stream: _run_pb2.OutputStream
    time: _timestamp_pb2.Timestamp
    def __init__(self, stream: _Optional[_Union[_run_pb2.OutputStream, str]] = ..., data: _Optional[bytes] = ..., seq: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., offset: _Optional[int] = ...) -> None: ...

class OutputTruncated(_message.Message):
    __slots__ = ["dropped_bytes"]
    DROPPED_BYTES_FIELD_NUMBER: _ClassVar[int]
    dropped_bytes: int
    def __init__(self, dropped_bytes: _Optional[int] = ...) -> None: ...

class RerunTaskRequest(_message.Message):
    __slots__ = ["id", "request_id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RerunTaskResponse(_message.Message):
    __slots__ = ["task"]
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ...) -> None: ...

class RunFinishedEvent(_message.Message):
    __slots__ = ["run"]
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class RunStartedEvent(_message.Message):
    __slots__ = ["run"]
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ...) -> None: ...

class RunnerFit(_message.Message):
    __slots__ = ["capacity", "draining", "failed_requirement", "matches", "name", "runner_id", "running"]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    FAILED_REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    capacity: int
    draining: bool
    failed_requirement: str
    matches: bool
    name: str
    runner_id: str
    running: int
    def __init__(self, runner_id: _Optional[str] = ..., name: _Optional[str] = ..., matches: bool = ..., failed_requirement: _Optional[str] = ..., running: _Optional[int] = ..., capacity: _Optional[int] = ..., draining: bool = ...) -> None: ...

class StreamTaskOutputRequest(_message.Message):
    __slots__ = ["attempt", "follow", "since_seq", "task_id"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    SINCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    follow: bool
    since_seq: int
    task_id: str
    def __init__(self, task_id: _Optional[str] = ..., attempt: _Optional[int] = ..., follow: bool = ..., since_seq: _Optional[int] = ...) -> None: ...

class StreamTaskOutputResponse(_message.Message):
    __slots__ = ["chunk", "run_finished", "run_started", "truncated"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    RUN_FINISHED_FIELD_NUMBER: _ClassVar[int]
    RUN_STARTED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    chunk: OutputChunk
    run_finished: RunFinishedEvent
    run_started: RunStartedEvent
    truncated: OutputTruncated
    def __init__(self, chunk: _Optional[_Union[OutputChunk, _Mapping]] = ..., run_started: _Optional[_Union[RunStartedEvent, _Mapping]] = ..., run_finished: _Optional[_Union[RunFinishedEvent, _Mapping]] = ..., truncated: _Optional[_Union[OutputTruncated, _Mapping]] = ...) -> None: ...

class SubmitTaskRequest(_message.Message):
    __slots__ = ["request_id", "spec"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    spec: _task_pb2.TaskSpec
    def __init__(self, spec: _Optional[_Union[_task_pb2.TaskSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubmitTaskResponse(_message.Message):
    __slots__ = ["task"]
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ...) -> None: ...

class TaskFilter(_message.Message):
    __slots__ = ["id_prefix", "label_selector", "parent_id", "phases", "runner_id", "slot"]
    ID_PREFIX_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    PHASES_FIELD_NUMBER: _ClassVar[int]
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    id_prefix: str
    label_selector: str
    parent_id: str
    phases: _containers.RepeatedScalarFieldContainer[_task_pb2.TaskPhase]
    runner_id: str
    slot: str
    def __init__(self, slot: _Optional[str] = ..., phases: _Optional[_Iterable[_Union[_task_pb2.TaskPhase, str]]] = ..., label_selector: _Optional[str] = ..., runner_id: _Optional[str] = ..., id_prefix: _Optional[str] = ..., parent_id: _Optional[str] = ...) -> None: ...

class WaitBlocker(_message.Message):
    __slots__ = ["count", "key", "limit", "message", "owner_task_id", "pause_id", "reason", "until"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OWNER_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PAUSE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    count: int
    key: str
    limit: int
    message: str
    owner_task_id: str
    pause_id: str
    reason: str
    until: _timestamp_pb2.Timestamp
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ..., until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., key: _Optional[str] = ..., count: _Optional[int] = ..., limit: _Optional[int] = ..., pause_id: _Optional[str] = ..., owner_task_id: _Optional[str] = ...) -> None: ...

class WatchTasksRequest(_message.Message):
    __slots__ = ["filter", "send_initial", "since_revision"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SEND_INITIAL_FIELD_NUMBER: _ClassVar[int]
    SINCE_REVISION_FIELD_NUMBER: _ClassVar[int]
    filter: TaskFilter
    send_initial: bool
    since_revision: int
    def __init__(self, since_revision: _Optional[int] = ..., filter: _Optional[_Union[TaskFilter, _Mapping]] = ..., send_initial: bool = ...) -> None: ...

class WatchTasksResponse(_message.Message):
    __slots__ = ["revision", "task", "type"]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    revision: int
    task: _task_pb2.Task
    type: EventType
    def __init__(self, type: _Optional[_Union[EventType, str]] = ..., task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
