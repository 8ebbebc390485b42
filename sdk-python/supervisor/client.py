"""The supervisor client: TaskService, RunnerService, ScheduleService and DispatchService."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

import grpc

from supervisor import reasons
from supervisor._channel import TlsInput, auth_metadata, open_channel
from supervisor._ids import request_ids
from supervisor._retry import DEFAULT_RETRY, RetryPolicy, with_retry
from supervisor.errors import SupervisorError
from supervisor.services import Dispatch, Schedules
from supervisor.specs import FilterInput, SpecInput, filter_of, spec_of
from supervisor.v1 import (
    run_pb2,
    runner_pb2,
    runner_service_pb2,
    runner_service_pb2_grpc,
    task_pb2,
    task_service_pb2,
    task_service_pb2_grpc,
)
from supervisor.watch import Watch

R = TypeVar("R")

#: Phases a task does not leave.
TERMINAL_PHASES = frozenset(
    {
        task_pb2.TASK_PHASE_SUCCEEDED,
        task_pb2.TASK_PHASE_FAILED,
        task_pb2.TASK_PHASE_TIMEOUT,
        task_pb2.TASK_PHASE_CANCELED,
        task_pb2.TASK_PHASE_EXHAUSTED,
    }
)


class Client:
    """A supervisor client over one channel.

    Every call takes ``deadline`` (seconds per attempt; default the client's, 30 s). Idempotent
    calls are retried on UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED with capped,
    jittered backoff — submits too, since each carries a request id. Failures raise
    :class:`SupervisorError`. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        address: Optional[str] = None,
        *,
        token: Optional[str] = None,
        tls: TlsInput = None,
        deadline: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        channel_options: Sequence[Tuple[str, Any]] = (),
    ) -> None:
        self.address, self.channel = open_channel(address, tls, channel_options)
        self.metadata = auth_metadata(token)
        self.retry = retry
        self.deadline = deadline
        self.tasks = task_service_pb2_grpc.TaskServiceStub(self.channel)
        self.runners = runner_service_pb2_grpc.RunnerServiceStub(self.channel)
        #: ScheduleService: ``create``, ``get``, ``list``, ``update``, ``pause``, ``unpause``, ``trigger``, ``delete``.
        self.schedules = Schedules(self)
        #: DispatchService: ``pause``, ``resume``, ``list``.
        self.dispatch = Dispatch(self)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    # -- plumbing -------------------------------------------------------------------------------

    def call(self, method: Callable[..., R], request: Any, deadline: Optional[float] = None, retried: bool = True) -> R:
        """One unary call with the client's token and deadline, retried when ``retried`` (it is idempotent)."""
        timeout = deadline if deadline is not None else self.deadline

        def attempt() -> R:
            return method(request, timeout=timeout, metadata=self.metadata)

        if retried:
            return with_retry(attempt, self.retry)
        try:
            return attempt()
        except grpc.RpcError as raised:
            raise SupervisorError.from_exception(raised) from raised

    # -- tasks ----------------------------------------------------------------------------------

    def submit(
        self, spec: SpecInput, *, request_id: Optional[str] = None, deadline: Optional[float] = None
    ) -> task_pb2.Task:
        """Submits a task. A request id (UUIDv7) is generated when none is given: a retry never makes a second task."""
        request = task_service_pb2.SubmitTaskRequest(spec=spec_of(spec), request_id=request_id or request_ids.next())
        return self.call(self.tasks.SubmitTask, request, deadline).task

    def submit_batch(
        self, specs: Iterable[Union[SpecInput, Tuple[SpecInput, str]]], *, deadline: Optional[float] = None
    ) -> List[task_pb2.Task]:
        """Submits tasks in one transaction, all or none. Each item is a spec, or ``(spec, request_id)``."""
        requests = []
        for item in specs:
            spec, request_id = item if isinstance(item, tuple) else (item, "")
            requests.append(
                task_service_pb2.SubmitTaskRequest(spec=spec_of(spec), request_id=request_id or request_ids.next())
            )
        request = task_service_pb2.BatchSubmitTasksRequest(requests=requests)
        return list(self.call(self.tasks.BatchSubmitTasks, request, deadline).tasks)

    def get(self, task_id: str, *, deadline: Optional[float] = None) -> task_pb2.Task:
        return self.call(self.tasks.GetTask, task_service_pb2.GetTaskRequest(id=task_id), deadline).task

    def explain(self, task_id: str, *, deadline: Optional[float] = None) -> task_service_pb2.ExplainTaskResponse:
        """Why a task is not running now: its blockers, and every connected runner compared with it."""
        return self.call(self.tasks.ExplainTask, task_service_pb2.ExplainTaskRequest(id=task_id), deadline)

    def list_page(
        self, filter: FilterInput = None, *, page_size: int = 0, page_token: str = "", deadline: Optional[float] = None
    ) -> task_service_pb2.ListTasksResponse:
        """One page of tasks, newest first (``next_page_token`` empty on the last; ``revision`` for list-then-watch)."""
        request = task_service_pb2.ListTasksRequest(
            filter=filter_of(filter), page_size=page_size, page_token=page_token
        )
        return self.call(self.tasks.ListTasks, request, deadline)

    def list(
        self, filter: FilterInput = None, *, page_size: int = 0, deadline: Optional[float] = None
    ) -> Iterator[task_pb2.Task]:
        """Every task matching ``filter``, newest first, fetching pages as you iterate."""
        token = ""
        while True:
            page = self.list_page(filter, page_size=page_size, page_token=token, deadline=deadline)
            yield from page.tasks
            token = page.next_page_token
            if not token:
                return

    def watch(self, filter: FilterInput = None, *, since_revision: int = 0, send_initial: bool = False) -> Watch:
        """Task changes from ``since_revision`` (0 = from now), resumed after a dropped stream. See :class:`Watch`."""
        request = task_service_pb2.WatchTasksRequest(
            since_revision=since_revision, filter=filter_of(filter), send_initial=send_initial
        )
        return Watch(self.tasks, request, self.metadata, self.retry)

    def cancel(self, task_id: str, reason: str = "", *, deadline: Optional[float] = None) -> task_pb2.Task:
        """Cancels a task (idempotent); a running one turns CANCELED once its runner has stopped it."""
        request = task_service_pb2.CancelTaskRequest(id=task_id, reason=reason)
        return self.call(self.tasks.CancelTask, request, deadline).task

    def cancel_tasks(
        self,
        filter: FilterInput,
        *,
        reason: str = "",
        dry_run: bool = False,
        all: bool = False,
        deadline: Optional[float] = None,
    ) -> task_service_pb2.CancelTasksResponse:
        """Cancels every active task matching ``filter`` (``all=True`` allows a filter that narrows nothing)."""
        request = task_service_pb2.CancelTasksRequest(filter=filter_of(filter), reason=reason, dry_run=dry_run, all=all)
        return self.call(self.tasks.CancelTasks, request, deadline)

    def rerun(
        self, task_id: str, *, request_id: Optional[str] = None, deadline: Optional[float] = None
    ) -> task_pb2.Task:
        """A new task with the spec of the ended task ``task_id``."""
        request = task_service_pb2.RerunTaskRequest(id=task_id, request_id=request_id or request_ids.next())
        return self.call(self.tasks.RerunTask, request, deadline).task

    def output(
        self, task_id: str, *, attempt: int = 0, follow: bool = False, since_seq: int = 0
    ) -> Iterator[task_service_pb2.StreamTaskOutputResponse]:
        """A run's output events (chunk, run_started, run_finished, truncated); with ``follow``, until the run ends."""
        request = task_service_pb2.StreamTaskOutputRequest(
            task_id=task_id, attempt=attempt, follow=follow, since_seq=since_seq
        )
        call = self.tasks.StreamTaskOutput(request, metadata=self.metadata)
        try:
            yield from call
        except grpc.RpcError as raised:
            raise SupervisorError.from_exception(raised) from raised
        finally:
            call.cancel()

    def wait_for(
        self, task_id: str, *, phases: Optional[Iterable[int]] = None, timeout: Optional[float] = None
    ) -> task_pb2.Task:
        """The task once it is in one of ``phases`` (default: any terminal phase).

        ``timeout`` (seconds) raises SupervisorError DEADLINE_EXCEEDED when it passes first.
        """
        wanted = frozenset(phases) if phases is not None else TERMINAL_PHASES
        task = self.get(task_id)
        if task.status.phase in wanted:
            return task
        # Narrow the watch to the task's slot (or its labels) so a busy server does not stream everything.
        labels = ",".join(f"{k}={v}" for k, v in sorted(task.spec.labels.items()))
        narrowed = {"slot": task.spec.slot} if task.spec.slot else {"label_selector": labels}
        watch = self.watch(narrowed, since_revision=task.revision)
        timer = threading.Timer(timeout, watch.close) if timeout is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            for event in watch:
                if event.task.id != task_id:
                    continue
                if event.type == task_service_pb2.EVENT_TYPE_DELETED:
                    deleted = f"task {task_id} was deleted"
                    raise SupervisorError(grpc.StatusCode.NOT_FOUND, deleted, reasons.TASK_NOT_FOUND)
                if event.task.status.phase in wanted:
                    return event.task
        finally:
            if timer is not None:
                timer.cancel()
            watch.close()
        raise SupervisorError(
            grpc.StatusCode.DEADLINE_EXCEEDED, f"task {task_id} not done within {timeout}s", "DEADLINE_EXCEEDED"
        )

    def list_runs(self, task_id: str, *, deadline: Optional[float] = None) -> List[run_pb2.Run]:
        """Every attempt of a task, oldest first."""
        runs: List[run_pb2.Run] = []
        token = ""
        while True:
            request = task_service_pb2.ListTaskRunsRequest(task_id=task_id, page_size=1000, page_token=token)
            page = self.call(self.tasks.ListTaskRuns, request, deadline)
            runs.extend(page.runs)
            token = page.next_page_token
            if not token:
                return runs

    # -- runners --------------------------------------------------------------------------------

    def list_runners(self, *, label_selector: str = "", deadline: Optional[float] = None) -> List[runner_pb2.Runner]:
        """Every runner (optionally matching a label selector), by name."""
        runners: List[runner_pb2.Runner] = []
        token = ""
        while True:
            request = runner_service_pb2.ListRunnersRequest(
                page_size=1000, page_token=token, label_selector=label_selector
            )
            page = self.call(self.runners.ListRunners, request, deadline)
            runners.extend(page.runners)
            token = page.next_page_token
            if not token:
                return runners

    def drain_runner(self, runner_id: str, *, deadline: Optional[float] = None) -> runner_pb2.Runner:
        """Stops new assignments to a runner; its running work finishes."""
        request = runner_service_pb2.DrainRunnerRequest(runner_id=runner_id)
        return self.call(self.runners.DrainRunner, request, deadline).runner

    def undrain_runner(self, runner_id: str, *, deadline: Optional[float] = None) -> runner_pb2.Runner:
        request = runner_service_pb2.UndrainRunnerRequest(runner_id=runner_id)
        return self.call(self.runners.UndrainRunner, request, deadline).runner

    def delete_runner(self, runner_id: str, *, deadline: Optional[float] = None) -> runner_pb2.Runner:
        """Forgets a DISCONNECTED runner (not retried: a repeat would find it gone)."""
        request = runner_service_pb2.DeleteRunnerRequest(runner_id=runner_id)
        return self.call(self.runners.DeleteRunner, request, deadline, retried=False).runner


__all__ = ["Client", "TERMINAL_PHASES"]
