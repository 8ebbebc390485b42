"""The SDK conformance scenario (docs/sdk-conformance.md) for the Python SDK.

Run: SUPERVISOR_ADDR=host:port python scenario.py — prints one line per fact, exits 1 on a failed step.
"""

from __future__ import annotations

import json
import sys
import uuid

import supervisor
from supervisor import Client, Runner, SupervisorError
from supervisor.v1 import task_pb2, task_service_pb2

LANG = "python"
LABELS = {"scenario": LANG}
SELECTOR = f"scenario={LANG}"


def say(line: str) -> None:
    print(line, flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr, flush=True)
        sys.exit(1)


def waiting_task() -> task_pb2.TaskSpec:
    return supervisor.subprocess("true", labels=LABELS, runner_labels={"absent": "yes"})


def added_ids(watch: supervisor.Watch, until: str) -> list:
    """Reads the watch until ``until`` is ADDED; returns every ADDED id seen on the way (in order)."""
    seen = []
    for event in watch:
        if event.type == task_service_pb2.EVENT_TYPE_ADDED:
            seen.append(event.task.id)
            if event.task.id == until:
                return seen
    check(False, "the watch ended")
    return seen


def main() -> None:
    client = Client()
    # submit: request ids make a repeated submit return the same task
    request_ids = [str(uuid.uuid4()) for _ in range(3)]
    ids = [client.submit(waiting_task(), request_id=rid).id for rid in request_ids]
    for task_id in ids:
        say(f"submitted {task_id}")
    again = client.submit(waiting_task(), request_id=request_ids[0])
    check(again.id == ids[0], "a repeated request id returns the original task")
    say(f"idempotent {again.id}")

    # page
    first = client.list_page({"label_selector": SELECTOR}, page_size=2)
    second = client.list_page({"label_selector": SELECTOR}, page_size=2, page_token=first.next_page_token)
    check(second.next_page_token == "", "two pages hold the three tasks")
    say(f"page 1: {len(first.tasks)}")
    say(f"page 2: {len(second.tasks)}")
    listed = [task.id for task in client.list({"label_selector": SELECTOR}, page_size=2)]
    say("listed " + " ".join(listed))

    # watch, with a dropped stream in the middle
    watch = client.watch({"label_selector": SELECTOR}, since_revision=first.revision)
    fourth = client.submit(waiting_task()).id
    for task_id in added_ids(watch, fourth):
        say(f"event ADDED {task_id}")
    say("drop-now")
    check(sys.stdin.readline().strip() == "dropped", "the test says it dropped the connections")
    fifth = client.submit(waiting_task()).id
    for task_id in added_ids(watch, fifth):
        say(f"event ADDED {task_id}")
    watch.close()

    # cancel, twice
    for _ in range(2):
        task = client.cancel(ids[0], "conformance")
        say(f"canceled {task.id} {task_pb2.TaskPhase.Name(task.status.phase)}")

    # an INVALID_ARGUMENT decoded with its field
    try:
        client.submit(supervisor.subprocess("", labels=LABELS))
        check(False, "an empty command is refused")
    except SupervisorError as error:
        fields = ",".join(v.field for v in error.field_violations)
        say(f"invalid {error.code_name} {error.reason} {fields}")
    try:
        client.get(str(uuid.uuid4()))
        check(False, "an unknown id is not found")
    except SupervisorError as error:
        say(f"not-found {error.code_name} {error.reason}")

    # a runner handling an embedded task
    runner = Runner(name=f"scenario-{LANG}", capacity=2)

    @runner.handler("scenario.echo")
    def echo(payload: dict, ctx: supervisor.RunContext) -> dict:
        ctx.log(f"hello {payload['word']}")
        return {"echo": payload["word"], "lang": LANG}

    runner.start(timeout=30)
    task = client.submit(supervisor.embedded("scenario.echo", {"word": "conformance"}, labels=LABELS))
    done = client.wait_for(task.id, timeout=60)
    run = client.list_runs(task.id)[-1]
    result = json.dumps(supervisor.payload_of(run.result), sort_keys=True, separators=(",", ":"))
    say(f"runner {task_pb2.TaskPhase.Name(done.status.phase)} {result}")
    output = b"".join(event.chunk.data for event in client.output(task.id) if event.HasField("chunk"))
    say(f"output {output.decode().strip()}")
    runner.stop()
    client.close()
    say("done")


if __name__ == "__main__":
    main()
