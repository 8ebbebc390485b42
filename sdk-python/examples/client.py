# A Python client: an embedded task for a runner that registered "resize-image" (any SDK's), then its result.
# Run: SUPERVISOR_ADDR=127.0.0.1:50051 python client.py
import json

from supervisor import Client, SupervisorError, embedded, payload_of
from supervisor.v1.task_pb2 import TaskPhase

with Client() as client:  # SUPERVISOR_ADDR, else 127.0.0.1:50051; a request id is generated per submit
    resize = embedded("resize-image", {"width": 640, "height": 480, "scale": 0.5}, labels={"example": "py"})
    task = client.submit(resize)
    done = client.wait_for(task.id, timeout=60)
    print(task.id, TaskPhase.Name(done.status.phase))
    print("result:", json.dumps(payload_of(client.list_runs(task.id)[-1].result), sort_keys=True))
    try:
        client.get("0190c5e2-7b1d-7c3a-8f00-0123456789ab")
    except SupervisorError as error:  # code, ErrorInfo.reason, metadata, field violations
        print("error:", error.code_name, error.reason)
