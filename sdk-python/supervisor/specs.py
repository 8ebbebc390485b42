"""TaskSpec builders: ``subprocess("echo", ["hi"], slot="s")``, ``embedded("resize", {"w": 64})``."""

from __future__ import annotations

import datetime
from typing import Any, Dict, Iterable, Mapping, Optional, Union

from google.protobuf import json_format

from supervisor.v1 import task_pb2, task_service_pb2

#: A spec: a TaskSpec, or its proto JSON form as a dict (``{"slot": "s", "timeout": "5s", ...}``).
SpecInput = Union[task_pb2.TaskSpec, Mapping[str, Any]]
#: A filter: a TaskFilter, or a dict of its fields (``{"label_selector": "team=a", "phases": ["TASK_PHASE_PENDING"]}``).
FilterInput = Union[task_service_pb2.TaskFilter, Mapping[str, Any], None]
#: Seconds, or a timedelta.
Seconds = Union[float, int, datetime.timedelta]


def spec_of(spec: SpecInput) -> task_pb2.TaskSpec:
    """A TaskSpec from a TaskSpec (as it is) or a dict in proto JSON form (snake_case or camelCase)."""
    if isinstance(spec, task_pb2.TaskSpec):
        return spec
    return json_format.ParseDict(dict(spec), task_pb2.TaskSpec())


def filter_of(value: FilterInput) -> task_service_pb2.TaskFilter:
    """A TaskFilter from a TaskFilter, a dict of its fields, or None (everything)."""
    if value is None:
        return task_service_pb2.TaskFilter()
    if isinstance(value, task_service_pb2.TaskFilter):
        return value
    return json_format.ParseDict(dict(value), task_service_pb2.TaskFilter())


def _seconds(value: Seconds) -> datetime.timedelta:
    return value if isinstance(value, datetime.timedelta) else datetime.timedelta(seconds=value)


def _common(
    spec: task_pb2.TaskSpec,
    *,
    slot: str = "",
    labels: Optional[Mapping[str, str]] = None,
    timeout: Optional[Seconds] = None,
    restart: Union[int, str, None] = None,
    max_attempts: int = 0,
    admission: Union[int, str, None] = None,
    priority: int = 0,
    runner_labels: Optional[Mapping[str, str]] = None,
) -> task_pb2.TaskSpec:
    spec.slot = slot
    spec.labels.update(labels or {})
    if timeout is not None:
        spec.timeout.FromTimedelta(_seconds(timeout))
    if restart is not None:
        named = isinstance(restart, str)
        spec.restart = task_pb2.RestartPolicy.Value(f"RESTART_POLICY_{restart}") if named else restart
    spec.max_attempts = max_attempts
    if admission is not None:
        spec.admission = (
            task_pb2.AdmissionPolicy.Value(f"ADMISSION_POLICY_{admission}") if isinstance(admission, str) else admission
        )
    spec.priority = priority
    spec.runner_selector.match_labels.update(runner_labels or {})
    return spec


def subprocess(
    command: str,
    args: Iterable[str] = (),
    *,
    env: Optional[Mapping[str, str]] = None,
    working_dir: str = "",
    **common: Any,
) -> task_pb2.TaskSpec:
    """A task that runs a program (argv, no shell). ``common``: slot, labels, timeout (seconds),
    restart ("ON_FAILURE"), max_attempts, admission ("QUEUE"), priority, runner_labels."""
    spec = task_pb2.TaskSpec()
    spec.subprocess.command = command
    spec.subprocess.args.extend(args)
    spec.subprocess.env.update(env or {})
    spec.subprocess.working_dir = working_dir
    return _common(spec, **common)


def embedded(handler: str, payload: Optional[Dict[str, Any]] = None, **common: Any) -> task_pb2.TaskSpec:
    """A task that calls ``handler`` in a runner process that registered it, with ``payload`` (JSON)."""
    spec = task_pb2.TaskSpec()
    spec.embedded.handler = handler
    spec.embedded.payload.update(payload or {})
    if payload is not None:
        spec.embedded.SetInParent()
    return _common(spec, **common)
