from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ADMISSION_POLICY_DROP_IF_RUNNING: AdmissionPolicy
ADMISSION_POLICY_QUEUE: AdmissionPolicy
ADMISSION_POLICY_REPLACE: AdmissionPolicy
ADMISSION_POLICY_UNSPECIFIED: AdmissionPolicy
DESCRIPTOR: _descriptor.FileDescriptor
JITTER_DECORRELATED: Jitter
JITTER_EQUAL: Jitter
JITTER_FULL: Jitter
JITTER_NONE: Jitter
JITTER_UNSPECIFIED: Jitter
PLACEMENT_ANY: Placement
PLACEMENT_EACH_MATCHING_RUNNER: Placement
PLACEMENT_UNSPECIFIED: Placement
RESTART_POLICY_ALWAYS: RestartPolicy
RESTART_POLICY_NEVER: RestartPolicy
RESTART_POLICY_ON_FAILURE: RestartPolicy
RESTART_POLICY_UNSPECIFIED: RestartPolicy
SELECTOR_OPERATOR_DOES_NOT_EXIST: SelectorOperator
SELECTOR_OPERATOR_EXISTS: SelectorOperator
SELECTOR_OPERATOR_IN: SelectorOperator
SELECTOR_OPERATOR_NOT_IN: SelectorOperator
SELECTOR_OPERATOR_UNSPECIFIED: SelectorOperator
TASK_PHASE_CANCELED: TaskPhase
TASK_PHASE_EXHAUSTED: TaskPhase
TASK_PHASE_FAILED: TaskPhase
TASK_PHASE_PENDING: TaskPhase
TASK_PHASE_RUNNING: TaskPhase
TASK_PHASE_SUCCEEDED: TaskPhase
TASK_PHASE_TIMEOUT: TaskPhase
TASK_PHASE_UNSPECIFIED: TaskPhase
TRIGGER_API: Trigger
TRIGGER_CLI: Trigger
TRIGGER_INTERNAL: Trigger
TRIGGER_SCHEDULE: Trigger
TRIGGER_UNSPECIFIED: Trigger

class Backoff(_message.Message):
    __slots__ = ["initial_delay", "jitter", "max_delay", "multiplier"]
    INITIAL_DELAY_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    MAX_DELAY_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    initial_delay: _duration_pb2.Duration
    jitter: Jitter
    max_delay: _duration_pb2.Duration
    multiplier: float
    def __init__(self, initial_delay: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_delay: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., multiplier: _Optional[float] = ..., jitter: _Optional[_Union[Jitter, str]] = ...) -> None: ...

class ConcurrencyKey(_message.Message):
    __slots__ = ["key", "max_running"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MAX_RUNNING_FIELD_NUMBER: _ClassVar[int]
    key: str
    max_running: int
    def __init__(self, key: _Optional[str] = ..., max_running: _Optional[int] = ...) -> None: ...

class ContainerExec(_message.Message):
    __slots__ = ["args", "command", "env", "image", "mounts", "network", "working_dir"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARGS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    args: _containers.RepeatedScalarFieldContainer[str]
    command: str
    env: _containers.ScalarMap[str, str]
    image: str
    mounts: _containers.RepeatedCompositeFieldContainer[Mount]
    network: bool
    working_dir: str
    def __init__(self, image: _Optional[str] = ..., command: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., working_dir: _Optional[str] = ..., mounts: _Optional[_Iterable[_Union[Mount, _Mapping]]] = ..., network: bool = ...) -> None: ...

class EmbeddedExec(_message.Message):
    __slots__ = ["handler", "payload"]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    handler: str
    payload: _struct_pb2.Struct
    def __init__(self, handler: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Fairness(_message.Message):
    __slots__ = ["key", "weight"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    key: str
    weight: int
    def __init__(self, key: _Optional[str] = ..., weight: _Optional[int] = ...) -> None: ...

class FanOutStatus(_message.Message):
    __slots__ = ["canceled", "children", "failed", "pending", "running", "succeeded"]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    canceled: int
    children: int
    failed: int
    pending: int
    running: int
    succeeded: int
    def __init__(self, children: _Optional[int] = ..., pending: _Optional[int] = ..., running: _Optional[int] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., canceled: _Optional[int] = ...) -> None: ...

class LabelSelectorRequirement(_message.Message):
    __slots__ = ["key", "operator", "values"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    operator: SelectorOperator
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., operator: _Optional[_Union[SelectorOperator, str]] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class Mount(_message.Message):
    __slots__ = ["read_only", "source", "target"]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    read_only: bool
    source: str
    target: str
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ..., read_only: bool = ...) -> None: ...

class RateLimit(_message.Message):
    __slots__ = ["burst", "key", "per_minute", "per_second"]
    BURST_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    burst: int
    key: str
    per_minute: float
    per_second: float
    def __init__(self, key: _Optional[str] = ..., per_second: _Optional[float] = ..., per_minute: _Optional[float] = ..., burst: _Optional[int] = ...) -> None: ...

class RunCounts(_message.Message):
    __slots__ = ["canceled", "deferred", "failed", "lost", "succeeded", "timeout"]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    DEFERRED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    canceled: int
    deferred: int
    failed: int
    lost: int
    succeeded: int
    timeout: int
    def __init__(self, succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., timeout: _Optional[int] = ..., canceled: _Optional[int] = ..., lost: _Optional[int] = ..., deferred: _Optional[int] = ...) -> None: ...

class RunnerSelector(_message.Message):
    __slots__ = ["match_expressions", "match_labels"]
    class MatchLabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MATCH_EXPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    MATCH_LABELS_FIELD_NUMBER: _ClassVar[int]
    match_expressions: _containers.RepeatedCompositeFieldContainer[LabelSelectorRequirement]
    match_labels: _containers.ScalarMap[str, str]
    def __init__(self, match_labels: _Optional[_Mapping[str, str]] = ..., match_expressions: _Optional[_Iterable[_Union[LabelSelectorRequirement, _Mapping]]] = ...) -> None: ...

class ScheduledBy(_message.Message):
    __slots__ = ["nominal_time", "schedule_id"]
    NOMINAL_TIME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    nominal_time: _timestamp_pb2.Timestamp
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ..., nominal_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SpecSignature(_message.Message):
    __slots__ = ["key_id", "signature"]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    signature: bytes
    def __init__(self, key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SubprocessExec(_message.Message):
    __slots__ = ["args", "command", "env", "working_dir"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARGS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    args: _containers.RepeatedScalarFieldContainer[str]
    command: str
    env: _containers.ScalarMap[str, str]
    working_dir: str
    def __init__(self, command: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., working_dir: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ["create_time", "id", "parent_id", "request_id", "rerun_of", "revision", "spec", "status", "traceparent", "update_time"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RERUN_OF_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    id: str
    parent_id: str
    request_id: str
    rerun_of: str
    revision: int
    spec: TaskSpec
    status: TaskStatus
    traceparent: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[TaskSpec, _Mapping]] = ..., status: _Optional[_Union[TaskStatus, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., request_id: _Optional[str] = ..., parent_id: _Optional[str] = ..., rerun_of: _Optional[str] = ..., traceparent: _Optional[str] = ...) -> None: ...

class TaskSpec(_message.Message):
    __slots__ = ["admission", "backoff", "concurrency", "container", "embedded", "fairness", "fan_out_window", "init", "labels", "max_attempts", "max_failed", "not_before", "pinned_runner_id", "placement", "priority", "rate_limits", "restart", "runner_selector", "scheduled_by", "signature", "slot", "subprocess", "timeout", "trigger", "wasm"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ADMISSION_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_FIELD_NUMBER: _ClassVar[int]
    FAIRNESS_FIELD_NUMBER: _ClassVar[int]
    FAN_OUT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    INIT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILED_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PINNED_RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    RUNNER_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_BY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    SUBPROCESS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    WASM_FIELD_NUMBER: _ClassVar[int]
    admission: AdmissionPolicy
    backoff: Backoff
    concurrency: _containers.RepeatedCompositeFieldContainer[ConcurrencyKey]
    container: ContainerExec
    embedded: EmbeddedExec
    fairness: Fairness
    fan_out_window: _duration_pb2.Duration
    init: _containers.RepeatedCompositeFieldContainer[SubprocessExec]
    labels: _containers.ScalarMap[str, str]
    max_attempts: int
    max_failed: int
    not_before: _timestamp_pb2.Timestamp
    pinned_runner_id: str
    placement: Placement
    priority: int
    rate_limits: _containers.RepeatedCompositeFieldContainer[RateLimit]
    restart: RestartPolicy
    runner_selector: RunnerSelector
    scheduled_by: ScheduledBy
    signature: SpecSignature
    slot: str
    subprocess: SubprocessExec
    timeout: _duration_pb2.Duration
    trigger: Trigger
    wasm: WasmExec
    def __init__(self, slot: _Optional[str] = ..., subprocess: _Optional[_Union[SubprocessExec, _Mapping]] = ..., embedded: _Optional[_Union[EmbeddedExec, _Mapping]] = ..., wasm: _Optional[_Union[WasmExec, _Mapping]] = ..., container: _Optional[_Union[ContainerExec, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., restart: _Optional[_Union[RestartPolicy, str]] = ..., max_attempts: _Optional[int] = ..., backoff: _Optional[_Union[Backoff, _Mapping]] = ..., admission: _Optional[_Union[AdmissionPolicy, str]] = ..., runner_selector: _Optional[_Union[RunnerSelector, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., priority: _Optional[int] = ..., not_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., trigger: _Optional[_Union[Trigger, str]] = ..., signature: _Optional[_Union[SpecSignature, _Mapping]] = ..., scheduled_by: _Optional[_Union[ScheduledBy, _Mapping]] = ..., placement: _Optional[_Union[Placement, str]] = ..., fan_out_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_failed: _Optional[int] = ..., init: _Optional[_Iterable[_Union[SubprocessExec, _Mapping]]] = ..., pinned_runner_id: _Optional[str] = ..., concurrency: _Optional[_Iterable[_Union[ConcurrencyKey, _Mapping]]] = ..., fairness: _Optional[_Union[Fairness, _Mapping]] = ..., rate_limits: _Optional[_Iterable[_Union[RateLimit, _Mapping]]] = ...) -> None: ...

class TaskStatus(_message.Message):
    __slots__ = ["attempt", "cancel_requested", "exit_code", "fan_out", "finish_time", "last_backoff", "message", "next_attempt_time", "phase", "pruned_runs", "reason", "run_counts", "runner_id", "start_time"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    FAN_OUT_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PRUNED_RUNS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_COUNTS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    cancel_requested: bool
    exit_code: int
    fan_out: FanOutStatus
    finish_time: _timestamp_pb2.Timestamp
    last_backoff: _duration_pb2.Duration
    message: str
    next_attempt_time: _timestamp_pb2.Timestamp
    phase: TaskPhase
    pruned_runs: int
    reason: str
    run_counts: RunCounts
    runner_id: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, phase: _Optional[_Union[TaskPhase, str]] = ..., attempt: _Optional[int] = ..., runner_id: _Optional[str] = ..., exit_code: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., next_attempt_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_requested: bool = ..., run_counts: _Optional[_Union[RunCounts, _Mapping]] = ..., pruned_runs: _Optional[int] = ..., last_backoff: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., fan_out: _Optional[_Union[FanOutStatus, _Mapping]] = ...) -> None: ...

class WasmExec(_message.Message):
    __slots__ = ["args", "env", "module_path"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    MODULE_PATH_FIELD_NUMBER: _ClassVar[int]
    args: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    module_path: str
    def __init__(self, module_path: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Placement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RestartPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Jitter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AdmissionPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Trigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SelectorOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class TaskPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
