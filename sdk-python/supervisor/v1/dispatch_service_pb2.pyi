from supervisor._google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DispatchPause(_message.Message):
    __slots__ = ["concurrency_key", "create_time", "id", "label_selector", "note", "slot"]
    CONCURRENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    concurrency_key: str
    create_time: _timestamp_pb2.Timestamp
    id: str
    label_selector: str
    note: str
    slot: str
    def __init__(self, id: _Optional[str] = ..., slot: _Optional[str] = ..., concurrency_key: _Optional[str] = ..., label_selector: _Optional[str] = ..., note: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDispatchPausesRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListDispatchPausesResponse(_message.Message):
    __slots__ = ["pauses"]
    PAUSES_FIELD_NUMBER: _ClassVar[int]
    pauses: _containers.RepeatedCompositeFieldContainer[DispatchPause]
    def __init__(self, pauses: _Optional[_Iterable[_Union[DispatchPause, _Mapping]]] = ...) -> None: ...

class PauseDispatchRequest(_message.Message):
    __slots__ = ["pause"]
    PAUSE_FIELD_NUMBER: _ClassVar[int]
    pause: DispatchPause
    def __init__(self, pause: _Optional[_Union[DispatchPause, _Mapping]] = ...) -> None: ...

class PauseDispatchResponse(_message.Message):
    __slots__ = ["pause"]
    PAUSE_FIELD_NUMBER: _ClassVar[int]
    pause: DispatchPause
    def __init__(self, pause: _Optional[_Union[DispatchPause, _Mapping]] = ...) -> None: ...

class ResumeDispatchRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ResumeDispatchResponse(_message.Message):
    __slots__ = ["pause"]
    PAUSE_FIELD_NUMBER: _ClassVar[int]
    pause: DispatchPause
    def __init__(self, pause: _Optional[_Union[DispatchPause, _Mapping]] = ...) -> None: ...
