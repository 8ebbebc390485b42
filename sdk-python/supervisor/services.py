"""ScheduleService and DispatchService through a client's channel: ``client.schedules``, ``client.dispatch``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, List, Mapping, Optional, Sequence, Union

from google.protobuf import field_mask_pb2, json_format

from supervisor._ids import request_ids
from supervisor.v1 import (
    dispatch_service_pb2,
    dispatch_service_pb2_grpc,
    schedule_pb2,
    schedule_service_pb2,
    schedule_service_pb2_grpc,
    task_pb2,
)

if TYPE_CHECKING:
    from supervisor.client import Client

#: A schedule: a Schedule, or its proto JSON form as a dict.
ScheduleInput = Union[schedule_pb2.Schedule, Mapping[str, Any]]


def _schedule_of(value: ScheduleInput) -> schedule_pb2.Schedule:
    if isinstance(value, schedule_pb2.Schedule):
        return value
    return json_format.ParseDict(dict(value), schedule_pb2.Schedule())


class Schedules:
    """ScheduleService. Creates and updates are sent once (not retried); reads, pauses and triggers are retried."""

    def __init__(self, client: "Client") -> None:
        self._client = client
        self.stub = schedule_service_pb2_grpc.ScheduleServiceStub(client.channel)

    def create(self, schedule: ScheduleInput, *, deadline: Optional[float] = None) -> schedule_pb2.Schedule:
        request = schedule_service_pb2.CreateScheduleRequest(schedule=_schedule_of(schedule))
        return self._client.call(self.stub.CreateSchedule, request, deadline, retried=False).schedule

    def get(self, schedule_id: str, *, deadline: Optional[float] = None) -> schedule_pb2.Schedule:
        request = schedule_service_pb2.GetScheduleRequest(id=schedule_id)
        return self._client.call(self.stub.GetSchedule, request, deadline).schedule

    def list(self, *, label_selector: str = "", page_size: int = 0) -> Iterator[schedule_pb2.Schedule]:
        """Every schedule (optionally matching a label selector), by id, fetching pages as you iterate."""
        token = ""
        while True:
            request = schedule_service_pb2.ListSchedulesRequest(
                page_size=page_size, page_token=token, label_selector=label_selector
            )
            page = self._client.call(self.stub.ListSchedules, request)
            yield from page.schedules
            token = page.next_page_token
            if not token:
                return

    def update(
        self, schedule: ScheduleInput, paths: Sequence[str], *, deadline: Optional[float] = None
    ) -> schedule_pb2.Schedule:
        """Changes the fields named by ``paths`` (the update mask, e.g. ``["cron", "task.timeout"]``)."""
        request = schedule_service_pb2.UpdateScheduleRequest(
            schedule=_schedule_of(schedule), update_mask=field_mask_pb2.FieldMask(paths=list(paths))
        )
        return self._client.call(self.stub.UpdateSchedule, request, deadline, retried=False).schedule

    def delete(self, schedule_id: str, *, deadline: Optional[float] = None) -> None:
        request = schedule_service_pb2.DeleteScheduleRequest(id=schedule_id)
        self._client.call(self.stub.DeleteSchedule, request, deadline, retried=False)

    def pause(self, schedule_id: str, note: str = "", *, deadline: Optional[float] = None) -> schedule_pb2.Schedule:
        request = schedule_service_pb2.PauseScheduleRequest(id=schedule_id, note=note)
        return self._client.call(self.stub.PauseSchedule, request, deadline).schedule

    def unpause(self, schedule_id: str, note: str = "", *, deadline: Optional[float] = None) -> schedule_pb2.Schedule:
        request = schedule_service_pb2.UnpauseScheduleRequest(id=schedule_id, note=note)
        return self._client.call(self.stub.UnpauseSchedule, request, deadline).schedule

    def trigger(
        self,
        schedule_id: str,
        *,
        request_id: Optional[str] = None,
        overrides: Optional[Mapping[str, Any]] = None,
        deadline: Optional[float] = None,
    ) -> task_pb2.Task:
        """Fires the schedule's task now; a request id is generated when none is given, so a retry fires once."""
        request = schedule_service_pb2.TriggerScheduleRequest(
            id=schedule_id, request_id=request_id or request_ids.next()
        )
        if overrides is not None:
            json_format.ParseDict(dict(overrides), request.overrides)
        return self._client.call(self.stub.TriggerSchedule, request, deadline).task


class Dispatch:
    """DispatchService: pauses of dispatch by slot, concurrency key or runner label selector."""

    def __init__(self, client: "Client") -> None:
        self._client = client
        self.stub = dispatch_service_pb2_grpc.DispatchServiceStub(client.channel)

    def pause(
        self,
        pause_id: str,
        *,
        slot: str = "",
        concurrency_key: str = "",
        label_selector: str = "",
        note: str = "",
        deadline: Optional[float] = None,
    ) -> dispatch_service_pb2.DispatchPause:
        """Stops dispatching the tasks one target names (exactly one of slot, concurrency_key, label_selector)."""
        pause = dispatch_service_pb2.DispatchPause(id=pause_id, note=note)
        if slot:
            pause.slot = slot
        if concurrency_key:
            pause.concurrency_key = concurrency_key
        if label_selector:
            pause.label_selector = label_selector
        request = dispatch_service_pb2.PauseDispatchRequest(pause=pause)
        return self._client.call(self.stub.PauseDispatch, request, deadline, retried=False).pause

    def resume(self, pause_id: str, *, deadline: Optional[float] = None) -> dispatch_service_pb2.DispatchPause:
        request = dispatch_service_pb2.ResumeDispatchRequest(id=pause_id)
        return self._client.call(self.stub.ResumeDispatch, request, deadline, retried=False).pause

    def list(self, *, deadline: Optional[float] = None) -> List[dispatch_service_pb2.DispatchPause]:
        request = dispatch_service_pb2.ListDispatchPausesRequest()
        return list(self._client.call(self.stub.ListDispatchPauses, request, deadline).pauses)
