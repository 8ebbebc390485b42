"""Embedded handlers: how a Python function runs as a task, and what it may say back."""

from __future__ import annotations

import asyncio
import datetime
import inspect
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from google.protobuf import json_format, struct_pb2

#: A handler takes the task's payload (a dict) and a RunContext; what it returns is the run's result.
Handler = Callable[[Dict[str, Any], "RunContext"], Any]


class RetryAfter(Exception):
    """Raise (or return) it when the downstream asked to wait: the run is deferred, not counted as failed.

    ``delay`` is in seconds (1 ms .. 24 h); ``key`` pauses only that rate-limit or concurrency key of the task.
    """

    def __init__(self, delay: float, key: Optional[str] = None, message: str = "") -> None:
        super().__init__(message or f"retry after {delay}s")
        self.delay = delay
        self.key = key


@dataclass
class RunContext:
    """What a handler knows about its run, and how it talks back."""

    run_id: str
    task_id: str
    attempt: int
    #: The run is killed (reported TIMEOUT) at this time.
    deadline: datetime.datetime
    #: Set on cancel, at the deadline and when the runner is killed: stop soon.
    stopping: threading.Event = field(default_factory=threading.Event)
    _write: Callable[[str], None] = lambda line: None

    def log(self, line: str) -> None:
        """Writes ``line`` and a newline to the run's stdout (stored by the supervisor, followed by ``output``)."""
        self._write(line)

    @property
    def canceled(self) -> bool:
        return self.stopping.is_set()


def call_handler(handler: Handler, payload: Dict[str, Any], ctx: RunContext) -> Any:
    """Calls a plain or an ``async def`` handler (the latter on an event loop of its own thread)."""
    if inspect.iscoroutinefunction(handler):
        return asyncio.run(handler(payload, ctx))
    value = handler(payload, ctx)
    if inspect.isawaitable(value):
        return asyncio.run(_await(value))
    return value


async def _await(value: Any) -> Any:
    return await value


def result_struct(value: Any) -> Optional[struct_pb2.Struct]:
    """The run's result: a dict as it is, any other JSON value as ``{"value": ...}``, None as none.

    Passed through JSON, so what is sent is what JSON keeps; raises for what JSON cannot hold.
    """
    if value is None:
        return None
    plain = json.loads(json.dumps(value))
    struct = struct_pb2.Struct()
    struct.update(plain if isinstance(plain, dict) else {"value": plain})
    return struct


def payload_of(struct: struct_pb2.Struct) -> Dict[str, Any]:
    """A Struct (a payload, a run's result) as plain Python values. Struct numbers are doubles; whole
    ones come back as int, so ``{"width": 640}`` sent from any SDK reads as 640, not 640.0."""
    return _whole_numbers(json_format.MessageToDict(struct))


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value
