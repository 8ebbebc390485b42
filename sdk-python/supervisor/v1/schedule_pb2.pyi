from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from supervisor.v1 import task_pb2 as _task_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
OVERLAP_POLICY_ALLOW_ALL: OverlapPolicy
OVERLAP_POLICY_BUFFER_ONE: OverlapPolicy
OVERLAP_POLICY_CANCEL_OTHER: OverlapPolicy
OVERLAP_POLICY_SKIP: OverlapPolicy
OVERLAP_POLICY_UNSPECIFIED: OverlapPolicy

class Schedule(_message.Message):
    __slots__ = ["catchup_window", "create_time", "generation", "id", "labels", "note", "overlap", "paused", "spec", "status", "task", "update_time"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CATCHUP_WINDOW_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    catchup_window: _duration_pb2.Duration
    create_time: _timestamp_pb2.Timestamp
    generation: int
    id: str
    labels: _containers.ScalarMap[str, str]
    note: str
    overlap: OverlapPolicy
    paused: bool
    spec: ScheduleSpec
    status: ScheduleStatus
    task: _task_pb2.TaskSpec
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[ScheduleSpec, _Mapping]] = ..., task: _Optional[_Union[_task_pb2.TaskSpec, _Mapping]] = ..., overlap: _Optional[_Union[OverlapPolicy, str]] = ..., catchup_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., paused: bool = ..., labels: _Optional[_Mapping[str, str]] = ..., note: _Optional[str] = ..., status: _Optional[_Union[ScheduleStatus, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., generation: _Optional[int] = ...) -> None: ...

class ScheduleSpec(_message.Message):
    __slots__ = ["cron", "end_time", "interval", "jitter", "start_time", "time_zone"]
    CRON_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    cron: str
    end_time: _timestamp_pb2.Timestamp
    interval: _duration_pb2.Duration
    jitter: _duration_pb2.Duration
    start_time: _timestamp_pb2.Timestamp
    time_zone: str
    def __init__(self, cron: _Optional[str] = ..., interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., time_zone: _Optional[str] = ..., jitter: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleStatus(_message.Message):
    __slots__ = ["fired", "last_fire_time", "missed", "next_fire_times", "recent_task_ids", "skipped"]
    FIRED_FIELD_NUMBER: _ClassVar[int]
    LAST_FIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIRE_TIMES_FIELD_NUMBER: _ClassVar[int]
    RECENT_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    fired: int
    last_fire_time: _timestamp_pb2.Timestamp
    missed: int
    next_fire_times: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    recent_task_ids: _containers.RepeatedScalarFieldContainer[str]
    skipped: int
    def __init__(self, next_fire_times: _Optional[_Iterable[_Union[_timestamp_pb2.Timestamp, _Mapping]]] = ..., last_fire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., recent_task_ids: _Optional[_Iterable[str]] = ..., missed: _Optional[int] = ..., skipped: _Optional[int] = ..., fired: _Optional[int] = ...) -> None: ...

class OverlapPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
