"""A Python SDK runner for test/sdk-python-runner.test.ts: the test drives it through stdin and its stdout.

Handler "hold": prints `started <run id>`, then waits until stdin says `release` (returns
{"released": true}) or the run is stopped (returns, reported canceled or timed out by the runner).
Handler "fail" raises; handler "later" raises RetryAfter(0.2).
"""

import sys
import threading

from supervisor import RetryAfter, Runner

released = threading.Event()
runner = Runner(
    name=sys.argv[1], capacity=2, grace_period=5.0, log=lambda line: print(line, file=sys.stderr, flush=True)
)


@runner.handler("hold")
def hold(payload, ctx):
    print(f"started {ctx.run_id}", flush=True)
    ctx.log("holding")
    while not released.is_set() and not ctx.stopping.is_set():
        released.wait(0.05)  # wakes to look at ctx.stopping: a handler polls it as long work does
    ctx.log("stopping" if ctx.stopping.is_set() else "released")
    return {"released": released.is_set()}


@runner.handler("fail")
def fail(payload, ctx):
    raise ValueError(f"bad input {payload.get('n')}")


@runner.handler("later")
def later(payload, ctx):
    raise RetryAfter(0.2, message="the downstream asked to wait")


def read_stdin():
    for line in sys.stdin:
        if line.strip() == "release":
            released.set()


threading.Thread(target=read_stdin, daemon=True).start()
runner.start(timeout=30)
print(f"runner connected as {runner.runner_id}", flush=True)
runner.run()
print("runner stopped", flush=True)
