#!/usr/bin/env python3
"""A small Python client of the supervisor's TaskService.

It submits three tasks, pages through them with ListTasks, follows on with
WatchTasks from the list's revision (list-then-watch), and reads the
google.rpc error details of a failed call.

Generate the code first (see README.md), then:

    python3 client.py --gen-dir /tmp/supervisor-py [--addr 127.0.0.1:50051]

Every line it prints starts with a fixed word (submitted, task, page, listed,
watch, error, done) so scripts and tests can check it.
"""

import argparse
import os
import sys
import uuid

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--addr", default="127.0.0.1:50051", help="supervisor address (host:port)")
parser.add_argument("--gen-dir", help="directory of the generated code (default: found on PYTHONPATH)")
parser.add_argument("--watch-timeout", type=float, default=10.0, help="seconds to wait for the watch event")
args = parser.parse_args()
if args.gen_dir:
    sys.path.insert(0, os.path.abspath(args.gen_dir))

# grpcio and protobuf, plus the code generated from proto/ by gen.sh.
import grpc  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from supervisor.v1 import task_pb2, task_service_pb2, task_service_pb2_grpc  # noqa: E402

LABELS = {"example": "python"}
SELECTOR = "example=python"
FILTER = task_service_pb2.TaskFilter(label_selector=SELECTOR)
RPC_TIMEOUT = 10  # seconds, for each unary call


def phase_name(task):
    return task_pb2.TaskPhase.Name(task.status.phase)


def submit(stub, text, request_id):
    """Submits `echo <text>`. Reuse the same request_id when retrying a submit:
    the server then returns the original task instead of a second one."""
    spec = task_pb2.TaskSpec(
        subprocess=task_pb2.SubprocessExec(command="echo", args=[text]),
        labels=LABELS,
    )
    request = task_service_pb2.SubmitTaskRequest(spec=spec, request_id=request_id)
    task = stub.SubmitTask(request, timeout=RPC_TIMEOUT).task
    print(f"submitted {task.id}", flush=True)
    return task


def list_all(stub):
    """Lists every matching task, page by page. Returns (tasks, revision)."""
    tasks, page_token, page, revision = [], "", 0, 0
    while True:
        request = task_service_pb2.ListTasksRequest(page_size=2, page_token=page_token, filter=FILTER)
        response = stub.ListTasks(request, timeout=RPC_TIMEOUT)
        page += 1
        if page == 1:
            revision = response.revision  # the journal head at the first page: watch from it
        print(f"page {page}: {len(response.tasks)} tasks")
        for task in response.tasks:
            print(f"task {task.id} {phase_name(task)}")
        tasks.extend(response.tasks)
        page_token = response.next_page_token
        if not page_token:
            return tasks, revision


def error_info(error):
    """Decodes the google.rpc.Status in the `grpc-status-details-bin` trailer
    of a failed call and returns its google.rpc.ErrorInfo (or None)."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:  # google.protobuf.Any
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    return info
    return None


def main():
    run = uuid.uuid4().hex[:12]  # makes this run's request ids unique
    with grpc.insecure_channel(args.addr) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT)
        except grpc.FutureTimeoutError:
            print(f"cannot connect to {args.addr}", file=sys.stderr)
            return 1
        stub = task_service_pb2_grpc.TaskServiceStub(channel)

        # 1. Submit three tasks.
        for i in range(1, 4):
            submit(stub, f"hello-{i}", f"example-python-{run}-{i}")

        # 2. List them, two per page.
        tasks, revision = list_all(stub)
        print(f"listed {len(tasks)} tasks (revision {revision})")

        # 3. Watch from the list's revision: nothing after the list is missed.
        #    The call's timeout is the deadline of the whole stream.
        watch = stub.WatchTasks(
            task_service_pb2.WatchTasksRequest(since_revision=revision, filter=FILTER),
            timeout=args.watch_timeout,
        )
        print(f"watching from revision {revision}", flush=True)
        fourth = submit(stub, "hello-4", f"example-python-{run}-4")
        try:
            for event in watch:
                kind = task_service_pb2.EventType.Name(event.type).removeprefix("EVENT_TYPE_")
                if event.type == task_service_pb2.EVENT_TYPE_BOOKMARK:
                    print(f"watch event {kind} (revision {event.revision})", flush=True)
                    continue
                print(f"watch event {kind} {event.task.id} {phase_name(event.task)}", flush=True)
                if event.type == task_service_pb2.EVENT_TYPE_ADDED and event.task.id == fourth.id:
                    break
            else:
                print("watch ended before the ADDED event", file=sys.stderr)
                return 1
        except grpc.RpcError as error:
            print(f"watch failed: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        finally:
            watch.cancel()  # ends the stream; a no-op if it already ended

        # 4. Errors: NOT_FOUND with google.rpc.ErrorInfo{reason: TASK_NOT_FOUND}.
        try:
            stub.GetTask(task_service_pb2.GetTaskRequest(id=str(uuid.uuid4())), timeout=RPC_TIMEOUT)
            print("GetTask of an unknown id succeeded", file=sys.stderr)
            return 1
        except grpc.RpcError as error:
            print(f"error code {error.code().name}: {error.details()}")
            info = error_info(error)
            if info is None:
                print("no ErrorInfo in the error details", file=sys.stderr)
                return 1
            print(f"error reason {info.reason} (domain {info.domain})")

    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
