# A Python runner: tasks with embedded{handler: "greet"} run here, in this process.
# Run: SUPERVISOR_ADDR=127.0.0.1:50051 python runner.py   (SIGTERM / Ctrl-C: drains, then exits)
import os

from supervisor import Runner

runner = Runner(name=os.environ.get("RUNNER_NAME", "python-runner"), labels={"lang": "python"}, capacity=4)


@runner.handler("greet")
def greet(payload, ctx):
    ctx.log(f"greeting {payload['name']}")
    return {"greeting": f"hello {payload['name']}", "lang": "python"}


runner.start()
print(f"runner connected as {runner.runner_id}", flush=True)
runner.run()  # serves until SIGTERM or SIGINT, then finishes what it runs and exits
