"""WatchTasks as an iterator that resumes from its last revision when the stream drops."""

from __future__ import annotations

import threading
from typing import Callable, Iterator, Optional, Tuple

import grpc

from supervisor import reasons
from supervisor._retry import RetryPolicy, is_retryable
from supervisor.errors import SupervisorError
from supervisor.v1 import task_service_pb2, task_service_pb2_grpc

Event = task_service_pb2.WatchTasksResponse


class Watch(Iterator[Event]):
    """Task changes as they happen, in revision order.

    A dropped stream (a server restart, the network, or WATCH_TOO_SLOW) is opened again from the
    last revision delivered, so no change is missed or repeated; ``REVISION_COMPACTED`` and other
    final errors are raised as SupervisorError. ``close()`` (from any thread) ends the iteration.
    ``reconnects`` counts the streams opened again after a drop.
    """

    def __init__(
        self,
        stub: task_service_pb2_grpc.TaskServiceStub,
        request: task_service_pb2.WatchTasksRequest,
        metadata: Tuple[Tuple[str, str], ...],
        retry: RetryPolicy,
    ) -> None:
        self._stub = stub
        self._since = request.since_revision
        self._filter = request.filter
        self._send_initial = request.send_initial
        self._metadata = metadata
        self._retry = retry
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._call: Optional[grpc.Call] = None
        self._stream: Optional[Iterator[Event]] = None
        self._failures = 0
        self.reconnects = 0

    @property
    def revision(self) -> int:
        """The revision the next stream would resume from."""
        return self._since

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> Event:
        while not self._closed.is_set():
            if self._stream is None:
                self._open()
            try:
                event = next(self._stream)  # type: ignore[arg-type]
            except StopIteration:
                self._stream = None  # the server ended the stream (it shut down): resume
                continue
            except grpc.RpcError as raised:
                self._stream = None
                if self._closed.is_set():
                    break
                error = SupervisorError.from_exception(raised)
                if not (is_retryable(error) or error.reason == reasons.WATCH_TOO_SLOW):
                    raise error from raised
                self._failures += 1
                self._closed.wait(self._retry.delay(self._failures))
                continue
            self._failures = 0
            if event.type == task_service_pb2.EVENT_TYPE_BOOKMARK:
                self._send_initial = False  # the initial snapshot, if any, is complete
            if not self._send_initial:
                self._since = max(self._since, event.revision)
            return event
        raise StopIteration

    def _open(self) -> None:
        request = task_service_pb2.WatchTasksRequest(
            since_revision=self._since, filter=self._filter, send_initial=self._send_initial
        )
        with self._lock:
            if self._call is not None:
                self.reconnects += 1
            call = self._stub.WatchTasks(request, metadata=self._metadata)
            self._call = call  # type: ignore[assignment]
            self._stream = call  # type: ignore[assignment]
            if self._closed.is_set():
                call.cancel()


def first(events: Iterator[Event], matches: Callable[[Event], bool]) -> Optional[Event]:
    """The first event that ``matches``, or None when the iteration ends."""
    return next((event for event in events if matches(event)), None)
