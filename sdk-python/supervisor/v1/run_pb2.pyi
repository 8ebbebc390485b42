from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
OUTPUT_STREAM_STDERR: OutputStream
OUTPUT_STREAM_STDOUT: OutputStream
OUTPUT_STREAM_UNSPECIFIED: OutputStream
RUN_PHASE_ASSIGNED: RunPhase
RUN_PHASE_CANCELED: RunPhase
RUN_PHASE_FAILED: RunPhase
RUN_PHASE_LOST: RunPhase
RUN_PHASE_RUNNING: RunPhase
RUN_PHASE_SUCCEEDED: RunPhase
RUN_PHASE_TIMEOUT: RunPhase
RUN_PHASE_UNSPECIFIED: RunPhase

class Run(_message.Message):
    __slots__ = ["assign_time", "attempt", "error", "exit_code", "failed_init_step", "finish_time", "id", "log_url", "output_bytes", "output_truncated", "phase", "result", "retry_after", "runner_id", "runner_instance_id", "runner_name", "start_time", "task_id"]
    ASSIGN_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    FAILED_INIT_STEP_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LOG_URL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    RUNNER_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNER_NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    assign_time: _timestamp_pb2.Timestamp
    attempt: int
    error: str
    exit_code: int
    failed_init_step: int
    finish_time: _timestamp_pb2.Timestamp
    id: str
    log_url: str
    output_bytes: int
    output_truncated: bool
    phase: RunPhase
    result: _struct_pb2.Struct
    retry_after: _duration_pb2.Duration
    runner_id: str
    runner_instance_id: str
    runner_name: str
    start_time: _timestamp_pb2.Timestamp
    task_id: str
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., attempt: _Optional[int] = ..., runner_id: _Optional[str] = ..., runner_name: _Optional[str] = ..., phase: _Optional[_Union[RunPhase, str]] = ..., exit_code: _Optional[int] = ..., error: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., output_bytes: _Optional[int] = ..., output_truncated: bool = ..., assign_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., runner_instance_id: _Optional[str] = ..., log_url: _Optional[str] = ..., failed_init_step: _Optional[int] = ..., retry_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RunPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class OutputStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
