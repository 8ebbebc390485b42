"""Python SDK client cases for test/sdk-python-client.test.ts: `client_cases.py <case>` prints one line per fact.

Cases: retry (submit through connections the test refuses), errors (metadata, REQUEST_ID_REUSED, a
deadline), secure (TLS + token from $CA_FILE / $TOKEN), output (an in-process runner; output followed),
schedules (create, trigger, pause, list, delete), dispatch (pause, list, resume).
"""

import os
import sys
import uuid

from supervisor import Client, RetryPolicy, Runner, SupervisorError, Tls, embedded, subprocess

case = sys.argv[1]
WAITING = {"runner_labels": {"absent": "yes"}}


def failure(what, call):
    try:
        call()
    except SupervisorError as error:
        return error
    raise AssertionError(f"{what}: the call did not fail")


if case == "retry":
    client = Client(retry=RetryPolicy(max_attempts=100, initial_delay=0.05, max_delay=0.25))
    task = client.submit(subprocess("true", labels={"case": "retry"}, **WAITING), request_id=os.environ["REQUEST_ID"])
    print(f"submitted {task.id} {task.request_id}")

elif case == "errors":
    client = Client()
    owner = client.submit(subprocess("true", slot="only-one", **WAITING))
    busy = failure("slot busy", lambda: client.submit(subprocess("true", slot="only-one", **WAITING)))
    print("busy", busy.code_name, busy.reason, busy.metadata.get("owner_task_id") == owner.id)
    rid = str(uuid.uuid4())
    client.submit(subprocess("true", **WAITING), request_id=rid)
    reused = failure("request id reused", lambda: client.submit(subprocess("false", **WAITING), request_id=rid))
    print("reused", reused.code_name, reused.reason)
    # A server whose GetTask never answers: each attempt ends at its deadline, retried, then raised.
    silent = Client(os.environ["SILENT_ADDR"], deadline=0.2, retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
    late = failure("deadline", lambda: silent.get(owner.id))
    print("deadline", late.code_name)
    bad = failure("selector", lambda: client.list_page({"label_selector": "a in (b"}))
    print("selector", bad.code_name, bad.reason, ",".join(v.field for v in bad.field_violations))

elif case == "secure":
    with open(os.environ["CA_FILE"], "rb") as ca:
        tls = Tls(ca=ca.read())
    good = Client(tls=tls, token=os.environ["TOKEN"])
    print("submitted", bool(good.submit(subprocess("true", **WAITING)).id))
    wrong = Client(tls=tls, token="not-a-token", retry=RetryPolicy(max_attempts=1))
    denied = failure("wrong token", lambda: wrong.submit(subprocess("true", **WAITING)))
    print("denied", denied.code_name, denied.reason)

elif case == "output":
    runner = Runner(name="py-output", log=lambda line: None)

    @runner.handler("count")
    def count(payload, ctx):
        for n in range(payload["to"]):
            ctx.log(f"line {n + 1}")
        return {"counted": payload["to"]}

    runner.start(timeout=30)
    client = Client()
    task = client.submit(embedded("count", {"to": 3}))
    kinds, text = [], b""
    for event in client.output(task.id, follow=True):
        kinds.append(event.WhichOneof("event"))
        if event.HasField("chunk"):
            text += event.chunk.data
    print("events", " ".join(kind for n, kind in enumerate(kinds) if n == 0 or kinds[n - 1] != kind))
    print("text", text.decode().replace("\n", "|"))
    runner.stop()

elif case == "schedules":
    client = Client()
    created = client.schedules.create(
        {"id": "nightly", "spec": {"cron": "0 3 * * *", "timeZone": "UTC"}, "task": {"subprocess": {"command": "true"}}}
    )
    print("created", created.id, created.spec.cron)
    task = client.schedules.trigger("nightly")
    print("triggered", task.spec.scheduled_by.schedule_id)
    print("paused", client.schedules.pause("nightly", "maintenance").paused)
    print("listed", [s.id for s in client.schedules.list()])
    client.schedules.delete("nightly")
    gone = failure("deleted schedule", lambda: client.schedules.get("nightly"))
    print("deleted", gone.code_name, gone.reason)

elif case == "dispatch":
    client = Client()
    pause = client.dispatch.pause("hold-a", slot="a", note="deploy")
    print("paused", pause.id, pause.slot)
    print("listed", [p.id for p in client.dispatch.list()])
    print("resumed", client.dispatch.resume("hold-a").id)
