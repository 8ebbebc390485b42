"""A runner process with embedded handlers, speaking RunnerService.Connect like the TypeScript runner.

Protocol (proto/supervisor/v1/runner_service.proto): hello → welcome; then assigns, cancels, drains
and acks from the supervisor, run_started / output / run_finished / heartbeat from the runner. Every
report is kept until an ack says it is committed and sent again after a reconnect (the hello names
the runs still executing and those ended but unacknowledged), so a run that ends while the
supervisor is away keeps its true outcome. Heartbeats run on their own thread, apart from the work.
"""

from __future__ import annotations

import datetime
import queue
import signal
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import grpc

from supervisor import reasons
from supervisor._channel import TlsInput, auth_metadata, open_channel
from supervisor._retry import RECONNECT_BACKOFF, RetryPolicy
from supervisor.errors import SupervisorError
from supervisor.handlers import Handler, RetryAfter, RunContext, call_handler, payload_of, result_struct
from supervisor.v1 import run_pb2, runner_service_pb2, runner_service_pb2_grpc

Request = runner_service_pb2.ConnectRequest

#: The largest output piece in one message (the supervisor refuses more).
MAX_OUTPUT_MESSAGE = 64 * 1024
#: Output kept per run until acknowledged, before the welcome says the supervisor's cap.
DEFAULT_RETAINED_BYTES = 1 << 20
#: Refusals no reconnect can fix: the runner stops and says why.
FATAL_REASONS = {
    reasons.RUNNER_REPLACED,
    reasons.RUNNER_NAME_IN_USE,
    reasons.RUNNER_NAME_FORBIDDEN,
    reasons.ROLE_FORBIDDEN,
    reasons.TOKEN_MISSING,
    reasons.TOKEN_INVALID,
    reasons.INVALID_REQUEST,
}


@dataclass
class _Run:
    """A run this runner holds: executing, or ended and waiting for the supervisor's ack."""

    assign: runner_service_pb2.ConnectResponse.Assign
    ctx: RunContext
    grace_period: float
    canceled: bool = False
    seq: int = 0
    offset: int = 0
    #: Output sent but not acknowledged, oldest first (at most the retained cap; beyond it, sent once).
    pending: List[Request.Output] = field(default_factory=list)
    pending_bytes: int = 0
    finished: Optional[Request.RunFinished] = None


class Runner:
    """Runs embedded tasks (``embedded{handler}``) with the functions registered on it.

    >>> runner = Runner("127.0.0.1:50051", name="py-1", capacity=4)
    >>> @runner.handler("resize")
    ... def resize(payload, ctx):
    ...     ctx.log(f"resizing to {payload['width']}")
    ...     return {"ok": True}
    >>> runner.run()  # until SIGTERM / SIGINT, then drains
    """

    def __init__(
        self,
        address: Optional[str] = None,
        *,
        name: str,
        labels: Optional[Dict[str, str]] = None,
        capacity: int = 1,
        version: str = "",
        token: Optional[str] = None,
        tls: TlsInput = None,
        reconnect: RetryPolicy = RECONNECT_BACKOFF,
        grace_period: float = 10.0,
        ack_wait: float = 10.0,
        channel_options: Sequence[Tuple[str, Any]] = (),
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.name = name
        self.labels = dict(labels or {})
        self.capacity = capacity
        self.version = version
        self.reconnect = reconnect
        self.grace_period = grace_period
        self.ack_wait = ack_wait
        #: This process's id in hellos: a reconnect is told apart from another process with the name.
        self.instance_id = str(uuid.uuid4())
        self.runner_id = ""
        self.draining = False
        #: The refusal that stopped the runner, if the supervisor refused it.
        self.fatal: Optional[SupervisorError] = None
        self._address, self._channel = open_channel(address, tls, channel_options)
        self._stub = runner_service_pb2_grpc.RunnerServiceStub(self._channel)
        self._metadata = auth_metadata(token)
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._handlers: Dict[str, Handler] = {}
        self._runs: Dict[str, _Run] = {}
        self._changed = threading.Condition()
        self._outbox: Optional["queue.Queue[Optional[Request]]"] = None
        self._call: Optional[grpc.Call] = None
        self._retained_bytes = DEFAULT_RETAINED_BYTES
        self._stopping = threading.Event()
        self._welcomed = threading.Event()
        self._closed = threading.Event()
        self._loop: Optional[threading.Thread] = None

    # -- handlers -------------------------------------------------------------------------------

    def handle(self, name: str, handler: Handler) -> "Runner":
        """Registers (or replaces) the handler of tasks of kind ``embedded:<name>``."""
        self._handlers[name] = handler
        return self

    def handler(self, name: Optional[str] = None) -> Callable[[Handler], Handler]:
        """Decorator: ``@runner.handler("resize")`` (default name: the function's)."""

        def register(function: Handler) -> Handler:
            self.handle(name or function.__name__, function)
            return function

        return register

    @property
    def kinds(self) -> List[str]:
        return [f"embedded:{name}" for name in self._handlers]

    @property
    def executing(self) -> int:
        with self._changed:
            return sum(1 for run in self._runs.values() if run.finished is None)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout: Optional[float] = None) -> str:
        """Connects and returns the runner id once welcomed; reconnects by itself afterwards.

        Raises SupervisorError when the supervisor refuses the runner (name in use, token, bad hello).
        """
        if self._loop is None:
            self._loop = threading.Thread(target=self._connect_loop, name=f"runner {self.name}", daemon=True)
            self._loop.start()
        if not self._welcomed.wait(timeout):
            raise SupervisorError(grpc.StatusCode.DEADLINE_EXCEEDED, "no welcome in time", "DEADLINE_EXCEEDED")
        if self.fatal is not None and not self.runner_id:
            raise self.fatal
        return self.runner_id

    def stop(self) -> None:
        """Graceful drain: takes no new runs, finishes those in hand, waits (up to ``ack_wait``) until the
        supervisor has acknowledged their ends, then disconnects."""
        self.draining = True
        with self._changed:
            self._changed.wait_for(lambda: self._stopping.is_set() or self._count_executing() == 0)
            if self._runs and self.fatal is None:
                acked = self._changed.wait_for(lambda: self._stopping.is_set() or not self._runs, self.ack_wait)
                if not acked:
                    self._say(f"{len(self._runs)} ended run(s) not acknowledged; their outcome may be lost")
        self._stopping.set()
        self._end_session()
        if self._loop is not None:
            self._loop.join()
        self._channel.close()

    def run(self) -> None:
        """start(), then serve until SIGTERM or SIGINT (in the main thread), then stop() (a graceful drain)."""
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not stop.wait(0.5) and not self._closed.is_set():
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def wait_closed(self, timeout: Optional[float] = None) -> bool:
        """Waits until the runner has stopped (after stop(), or a fatal refusal)."""
        return self._closed.wait(timeout)

    # -- connection -----------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        self._log(f"runner {self.name}: {line}")

    def _count_executing(self) -> int:
        return sum(1 for run in self._runs.values() if run.finished is None)

    def _connect_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            welcomed, error = self._session()
            if self._stopping.is_set():
                break
            if error is not None and error.reason in FATAL_REASONS:
                self.fatal = error
                self._say(f"refused by the supervisor: {error}; stopping")
                self._welcomed.set()
                break
            failures = 1 if welcomed else failures + 1
            delay = self.reconnect.delay(failures)
            self._say(f"disconnected ({error or 'stream ended'}); reconnecting in {delay:.2f}s")
            self._stopping.wait(delay)
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._closed.set()

    def _hello(self) -> Request:
        with self._changed:
            executing = [run_id for run_id, run in self._runs.items() if run.finished is None]
            finished = [run_id for run_id, run in self._runs.items() if run.finished is not None]
        hello = Request.Hello(
            name=self.name,
            labels=self.labels,
            kinds=self.kinds,
            capacity=self.capacity,
            version=self.version,
            active_run_ids=executing,
            instance_id=self.instance_id,
            finished_run_ids=finished,
            accepts_batches=True,
        )
        return Request(hello=hello)

    def _session(self) -> Tuple[bool, Optional[SupervisorError]]:
        """One connection, from hello to the end of the stream."""
        outbox: "queue.Queue[Optional[Request]]" = queue.Queue()
        outbox.put(self._hello())

        def requests() -> Iterator[Request]:
            while True:
                message = outbox.get()
                if message is None:
                    return
                yield message

        welcomed = False
        beating = threading.Event()
        call = self._stub.Connect(requests(), metadata=self._metadata)
        self._call = call  # type: ignore[assignment]
        try:
            for response in call:
                if self._receive(response, outbox, beating):
                    welcomed = True
            return welcomed, None
        except grpc.RpcError as raised:
            return welcomed, SupervisorError.from_exception(raised)
        finally:
            beating.set()
            with self._changed:
                if self._outbox is outbox:
                    self._outbox = None  # what was queued is kept with its run and sent again after a reconnect
            outbox.put(None)
            call.cancel()

    def _end_session(self) -> None:
        with self._changed:
            outbox, self._outbox = self._outbox, None
        if outbox is not None:
            outbox.put(None)  # half-close: the supervisor ends the stream
        if self._call is not None:
            self._call.cancel()

    def _write(self, message: Request) -> None:
        """Writes to the live stream; without one the message is not needed (reports are kept and resent)."""
        with self._changed:
            if self._outbox is not None:
                self._outbox.put(message)

    def _receive(
        self,
        response: runner_service_pb2.ConnectResponse,
        outbox: "queue.Queue[Optional[Request]]",
        beating: threading.Event,
    ) -> bool:
        """Handles one supervisor message; True for the welcome."""
        kind = response.WhichOneof("message")
        if kind == "welcome":
            welcome = response.welcome
            self.runner_id = welcome.runner_id
            if welcome.output_cap_bytes > 0:
                self._retained_bytes = welcome.output_cap_bytes
            interval = welcome.heartbeat_interval.ToTimedelta().total_seconds() or 5.0
            with self._changed:
                self._outbox = outbox
                self._resend_unacknowledged()
            threading.Thread(target=self._heartbeat, args=(outbox, beating, max(0.1, interval)), daemon=True).start()
            self._welcomed.set()
            return True
        if kind == "assign":
            self._execute(response.assign)
        elif kind == "cancel":
            self._cancel(response.cancel)
        elif kind == "drain":
            self.draining = True
        elif kind == "ack":
            self._acknowledged(response.ack)
        elif kind == "batch":
            for item in response.batch.items:
                which = item.WhichOneof("message")
                if which == "assign":
                    self._execute(item.assign)
                elif which == "cancel":
                    self._cancel(item.cancel)
        return False

    def _heartbeat(self, outbox: "queue.Queue[Optional[Request]]", beating: threading.Event, interval: float) -> None:
        while not beating.wait(interval):
            outbox.put(Request(heartbeat=Request.Heartbeat()))

    def _resend_unacknowledged(self) -> None:
        """After a (re)connect: every run's start, its unacknowledged output, and its end if it ended."""
        assert self._outbox is not None
        for run_id, run in self._runs.items():
            self._outbox.put(Request(run_started=Request.RunStarted(run_id=run_id)))
            for chunk in run.pending:
                self._outbox.put(Request(output=chunk))
            if run.finished is not None:
                self._outbox.put(Request(run_finished=run.finished))

    def _acknowledged(self, ack: runner_service_pb2.ConnectResponse.Ack) -> None:
        with self._changed:
            for entry in ack.runs:
                run = self._runs.get(entry.run_id)
                if run is None:
                    continue
                kept = [chunk for chunk in run.pending if chunk.seq > entry.output_seq]
                run.pending_bytes = sum(len(chunk.data) for chunk in kept)
                run.pending = kept
                if entry.finished and run.finished is not None:
                    del self._runs[entry.run_id]
            self._changed.notify_all()

    def _cancel(self, cancel: runner_service_pb2.ConnectResponse.Cancel) -> None:
        with self._changed:
            run = self._runs.get(cancel.run_id)
            if run is None or run.finished is not None:
                return
            if cancel.HasField("grace_period"):
                run.grace_period = cancel.grace_period.ToTimedelta().total_seconds()
            run.canceled = True
            self._changed.notify_all()
        run.ctx.stopping.set()

    # -- runs -----------------------------------------------------------------------------------

    def _execute(self, assign: runner_service_pb2.ConnectResponse.Assign) -> None:
        with self._changed:
            if assign.run_id in self._runs:
                return  # a duplicate assign after a reconnect
            deadline = (
                assign.deadline.ToDatetime(tzinfo=datetime.timezone.utc)
                if assign.HasField("deadline")
                else datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60)
            )
            ctx = RunContext(run_id=assign.run_id, task_id=assign.task_id, attempt=assign.attempt, deadline=deadline)
            run = _Run(assign=assign, ctx=ctx, grace_period=self.grace_period)
            ctx._write = lambda line: self._output(run, (line + "\n").encode())
            self._runs[assign.run_id] = run
        self._write(Request(run_started=Request.RunStarted(run_id=assign.run_id)))
        threading.Thread(target=self._run, args=(run,), name=f"run {assign.run_id}", daemon=True).start()

    def _output(self, run: _Run, data: bytes) -> None:
        with self._changed:
            if run.finished is not None:
                return  # an abandoned handler may keep logging; its run is over
            for start in range(0, len(data), MAX_OUTPUT_MESSAGE):
                piece = data[start : start + MAX_OUTPUT_MESSAGE]
                run.seq += 1
                chunk = Request.Output(
                    run_id=run.assign.run_id,
                    stream=run_pb2.OUTPUT_STREAM_STDOUT,
                    data=piece,
                    seq=run.seq,
                    offset=run.offset,
                )
                run.offset += len(piece)
                if run.pending_bytes + len(piece) <= self._retained_bytes:
                    run.pending.append(chunk)
                    run.pending_bytes += len(piece)
                self._write(Request(output=chunk))

    def _run(self, run: _Run) -> None:
        finished = self._outcome(run)
        finished.run_id = run.assign.run_id
        with self._changed:
            finished.output_bytes = run.offset
            run.finished = finished
            self._write(Request(run_finished=finished))
            self._changed.notify_all()

    def _outcome(self, run: _Run) -> Request.RunFinished:
        """Runs the handler on a thread of its own; a cancel or the deadline sets ``ctx.stopping``, and a
        handler still busy a grace period later is abandoned (Python cannot stop a thread)."""
        spec = run.assign.spec
        if spec.WhichOneof("exec") != "embedded":
            return _failed("this runner runs embedded tasks only")
        handler = self._handlers.get(spec.embedded.handler)
        if handler is None:
            return Request.RunFinished(
                outcome=runner_service_pb2.RUN_OUTCOME_FAILED, error=f'no handler "{spec.embedded.handler}" registered'
            )
        done = threading.Event()
        outcome: Dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["value"] = call_handler(handler, payload_of(spec.embedded.payload), run.ctx)
            except BaseException as error:  # noqa: BLE001 - any exception fails the run
                outcome["error"] = error
            finally:
                done.set()
                with self._changed:
                    self._changed.notify_all()

        threading.Thread(target=call, name=f"handler {run.assign.run_id}", daemon=True).start()
        remaining = (run.ctx.deadline - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        with self._changed:
            self._changed.wait_for(lambda: done.is_set() or run.canceled, max(0.0, remaining))
        stopped_for: Optional[int] = None
        # Stopped (a cancel, or the deadline) whether or not the handler returned since: a handler that
        # returns because it saw ctx.stopping still ends the run as canceled (or timed out), as in TypeScript.
        if run.canceled:
            stopped_for = runner_service_pb2.RUN_OUTCOME_CANCELED
        elif not done.is_set():
            stopped_for = runner_service_pb2.RUN_OUTCOME_TIMEOUT
        if stopped_for is not None:
            run.ctx.stopping.set()
            done.wait(run.grace_period)
            return Request.RunFinished(outcome=stopped_for, error=str(outcome.get("error", "")))
        return _finished_from(outcome)


def _failed(error: str) -> Request.RunFinished:
    return Request.RunFinished(outcome=runner_service_pb2.RUN_OUTCOME_FAILED, error=error)


def _finished_from(outcome: Dict[str, Any]) -> Request.RunFinished:
    error = outcome.get("error")
    asked = error if isinstance(error, RetryAfter) else outcome.get("value")
    if isinstance(asked, RetryAfter):
        finished = Request.RunFinished(outcome=runner_service_pb2.RUN_OUTCOME_FAILED, error=str(asked))
        finished.retry_after.FromTimedelta(datetime.timedelta(seconds=asked.delay))
        if asked.key:
            finished.retry_after_key = asked.key
        return finished
    if error is not None:
        return _failed(f"{type(error).__name__}: {error}")
    try:
        result = result_struct(outcome.get("value"))
    except (TypeError, ValueError) as problem:
        return Request.RunFinished(
            outcome=runner_service_pb2.RUN_OUTCOME_FAILED, error=f"the handler's result is not JSON: {problem}"
        )
    finished = Request.RunFinished(outcome=runner_service_pb2.RUN_OUTCOME_SUCCEEDED)
    if result is not None:
        finished.result.CopyFrom(result)
    return finished
