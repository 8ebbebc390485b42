import { status } from "@grpc/grpc-js";
import {
  type ConnectResponse,
  ErrorReason,
  RunnerState,
  RunOutcome,
  RunPhase,
  TaskPhase,
  TaskReason,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { hello, rawRunner, runnersListed } from "./helpers/raw-runner.js";
import { waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const start = (settings: Record<string, string> = {}) =>
  startTestServer({ heartbeatInterval: "200ms", leaseTtl: "800ms", ...settings });
const submitFor = async (s: TestServer, pool: string) =>
  (
    await call(
      rpc(s.tasks, "submitTask"),
      submitRequest(subprocessSpec("echo", ["x"], { runnerSelector: { matchLabels: { pool }, matchExpressions: [] } })),
    )
  ).task!;
const caseOf = (message: ConnectResponse) => message.message!.$case;
async function welcomed(s: TestServer, name: string, labels: Record<string, string> = {}, activeRunIds: string[] = []) {
  const runner = rawRunner(s.runners);
  runner.send(hello(name, { labels, activeRunIds }));
  const welcome = await runner.next();
  expect(caseOf(welcome)).toBe("welcome");
  return { runner, id: (welcome.message as { value: { runnerId: string } }).value.runnerId };
}
const assignOf = (message: ConnectResponse) => {
  expect(caseOf(message)).toBe("assign");
  return (message.message as { value: { runId: string; taskId: string; attempt: number } }).value;
};

describe("Connect protocol", () => {
  it("welcomes a hello with the runner id, heartbeat interval and lease TTL", async () => {
    server = await start();
    const runner = rawRunner(server.runners);
    runner.send(hello("w1"));
    const welcome = (await runner.next()).message as {
      $case: string;
      value: { runnerId: string; heartbeatInterval: unknown; leaseTtl: unknown };
    };
    expect(welcome.$case).toBe("welcome");
    expect(welcome.value.runnerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(welcome.value.heartbeatInterval).toEqual({ seconds: 0, nanos: 200_000_000 });
    expect(welcome.value.leaseTtl).toEqual({ seconds: 0, nanos: 800_000_000 });
    runner.stream.end();
  });

  it("a runner that connects while a task waits for it hears the welcome first, then the assign", async () => {
    server = await start();
    const waiting = await submitFor(server, "eager");
    const { runner } = await welcomed(server, "eager", { pool: "eager" }); // asserts the first message
    expect(assignOf(await runner.next()).taskId).toBe(waiting.id);
    runner.stream.end();
  });

  it("a first message other than hello is FAILED_PRECONDITION / RUNNER_PROTOCOL_VIOLATION", async () => {
    server = await start();
    const runner = rawRunner(server.runners);
    runner.send({ $case: "heartbeat", value: {} });
    await expectError(
      runner.ended.then((e) => Promise.reject(e)),
      status.FAILED_PRECONDITION,
      ErrorReason.RUNNER_PROTOCOL_VIOLATION,
    );
  });

  it("a bad hello is INVALID_ARGUMENT with a violation per bad field", async () => {
    server = await start();
    const runner = rawRunner(server.runners);
    runner.send(hello("bad name!", { capacity: 0, kinds: ["fortran"] }));
    const error = await expectError(
      runner.ended.then((e) => Promise.reject(e)),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field).sort()).toEqual([
      "hello.capacity",
      "hello.kinds[0]",
      "hello.name",
    ]);
  });

  it("a reconnect within the lease keeps the runs it still has and cancels the ones it does not own", async () => {
    server = await start({ leaseTtl: "5s" });
    const s = server;
    const first = await welcomed(s, "recon", { pool: "recon" });
    const task = await submitFor(s, "recon");
    const assign = assignOf(await first.runner.next());
    first.runner.send({ $case: "runStarted", value: { runId: assign.runId } });
    first.runner.stream.end(); // the connection drops
    await first.runner.ended;
    const again = await welcomed(s, "recon", { pool: "recon" }, [assign.runId, "01000000-0000-7000-8000-000000000000"]);
    const cancel = (await again.runner.next()).message as { $case: string; value: { runId: string } };
    expect(cancel).toMatchObject({ $case: "cancel", value: { runId: "01000000-0000-7000-8000-000000000000" } });
    again.runner.send({
      $case: "runFinished",
      value: { runId: assign.runId, exitCode: 0, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "" },
    });
    const done = await waitForTask(s.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1 });
    again.runner.stream.end();
  });

  it("a stream that ends right after its welcome lets go of the name: a new process may take it at once", async () => {
    // The welcome goes out before the hello is recorded (the runner row, its runs). A stream that ends in between
    // must not end, as the runner sees it, until the name is let go: else a new process, given the name by an
    // operator who saw the old one gone, is refused RUNNER_NAME_IN_USE by a runner that is not there.
    server = await start({ leaseTtl: "5s" });
    const s = server;
    for (let round = 0; round < 20; round++) {
      const runner = rawRunner(s.runners);
      runner.send(hello("hasty", { instanceId: `process-${round}` }));
      const refused = runner.ended.then((error) => Promise.reject(error ?? new Error("ended before a welcome")));
      expect(caseOf(await Promise.race([runner.next(), refused]))).toBe("welcome");
      runner.stream.end();
      expect(await runner.ended).toBeUndefined(); // ended cleanly: the supervisor let the stream go
    }
  });

  it("a reconnect that does not report a run it owned loses that run", async () => {
    server = await start({ leaseTtl: "5s" });
    const s = server;
    const first = await welcomed(s, "amnesiac", { pool: "amnesia" });
    const task = await submitFor(s, "amnesia");
    assignOf(await first.runner.next());
    first.runner.stream.end();
    await first.runner.ended;
    const again = await welcomed(s, "amnesiac", { pool: "amnesia" }, []);
    const done = await waitForTask(s.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.RUNNER_LOST });
    again.runner.stream.end();
  });

  it("the same runner process reconnecting without a run it never started gets the assign again", async () => {
    // What the runner sees when the supervisor committed an assign and stopped before sending it.
    server = await start({ leaseTtl: "5s" });
    const s = server;
    const connect = async () => {
      const runner = rawRunner(s.runners);
      runner.send(hello("faithful", { labels: { pool: "again" }, instanceId: "process-1" }));
      expect(caseOf(await runner.next())).toBe("welcome");
      return runner;
    };
    const first = await connect();
    const task = await submitFor(s, "again");
    const assign = assignOf(await first.next());
    first.stream.end();
    await first.ended;
    const again = await connect(); // same instance, reporting nothing
    const resent = assignOf(await again.next());
    expect(resent).toMatchObject({ runId: assign.runId, taskId: task.id, attempt: 1 });
    again.send({ $case: "runStarted", value: { runId: assign.runId } });
    again.send({
      $case: "runFinished",
      value: { runId: assign.runId, exitCode: 0, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "" },
    });
    const done = await waitForTask(s.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1 });
    again.stream.end();
  });

  it("messages about runs a runner does not own are ignored (fencing by run id)", async () => {
    server = await start({ leaseTtl: "5s" });
    const s = server;
    const owner = await welcomed(s, "owner", { pool: "fence" });
    const intruder = await welcomed(s, "intruder", { pool: "elsewhere" });
    const task = await submitFor(s, "fence");
    const assign = assignOf(await owner.runner.next());
    intruder.runner.send({
      $case: "output",
      value: { runId: assign.runId, stream: 1, data: Buffer.from("forged\n"), seq: 1 },
    });
    intruder.runner.send({
      $case: "runFinished",
      value: { runId: assign.runId, exitCode: 1, outcome: RunOutcome.RUN_OUTCOME_FAILED, error: "forged" },
    });
    owner.runner.send({
      $case: "output",
      value: { runId: assign.runId, stream: 1, data: Buffer.from("real\n"), seq: 1 },
    });
    owner.runner.send({
      $case: "runFinished",
      value: { runId: assign.runId, exitCode: 0, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "" },
    });
    const done = await waitForTask(s.tasks, task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const chunks: Buffer[] = [];
    for await (const event of s.tasks.streamTaskOutput({ taskId: task.id, attempt: 0, follow: false, sinceSeq: 0 })) {
      if (event.event?.$case === "chunk") chunks.push(event.event.value.data);
    }
    expect(Buffer.concat(chunks).toString()).toBe("real\n");
    owner.runner.stream.end();
    intruder.runner.stream.end();
  });

  it("a runner silent past its lease is DISCONNECTED and its run LOST", async () => {
    server = await start();
    const s = server;
    const silent = await welcomed(s, "silent", { pool: "silent" });
    const task = await submitFor(s, "silent");
    assignOf(await silent.runner.next());
    // no heartbeats: the 800 ms lease runs out
    const done = await waitForTask(s.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.RUNNER_LOST });
    const [run] = (await call(rpc(s.tasks, "listTaskRuns"), { taskId: task.id, pageSize: 0, pageToken: "" })).runs;
    expect(run!.phase).toBe(RunPhase.RUN_PHASE_LOST);
    // The runs are lost first, then the runner's record says DISCONNECTED (the next commit): wait for it.
    const runners = await waitUntil(async () => {
      const page = await call(rpc(s.runners, "listRunners"), {
        pageSize: 0,
        pageToken: "",
        labelSelector: "pool=silent",
      });
      return page.runners.every((r) => r.state === RunnerState.RUNNER_STATE_DISCONNECTED) ? page.runners : undefined;
    }, "the silent runner's record to say DISCONNECTED");
    expect(runners.map((r) => [r.name, r.state])).toEqual([["silent", RunnerState.RUNNER_STATE_DISCONNECTED]]);
    await expectError(
      silent.runner.ended.then((e) => Promise.reject(e)),
      status.UNAVAILABLE,
      ErrorReason.LEASE_EXPIRED,
    );
  });
});

describe("ListRunners and DrainRunner", () => {
  it("lists runners by name with pagination and a label selector", async () => {
    server = await start({ leaseTtl: "5s" });
    const s = server;
    const connected = [];
    for (const [name, zone] of [
      ["r-a", "a"],
      ["r-b", "b"],
      ["r-c", "a"],
    ] as const)
      connected.push(await welcomed(s, name, { zone }));
    await runnersListed(s.runners, ["r-a", "r-b", "r-c"]);
    const page1 = await call(rpc(s.runners, "listRunners"), { pageSize: 2, pageToken: "", labelSelector: "" });
    expect(page1.runners.map((r) => r.name)).toEqual(["r-a", "r-b"]);
    const page2 = await call(rpc(s.runners, "listRunners"), {
      pageSize: 2,
      pageToken: page1.nextPageToken,
      labelSelector: "",
    });
    expect(page2).toMatchObject({ nextPageToken: "" });
    expect(page2.runners.map((r) => r.name)).toEqual(["r-c"]);
    const zoneA = await call(rpc(s.runners, "listRunners"), { pageSize: 0, pageToken: "", labelSelector: "zone=a" });
    expect(zoneA.runners.map((r) => [r.name, r.state])).toEqual([
      ["r-a", RunnerState.RUNNER_STATE_CONNECTED],
      ["r-c", RunnerState.RUNNER_STATE_CONNECTED],
    ]);
    const bad = await expectError(
      call(rpc(s.runners, "listRunners"), { pageSize: 0, pageToken: "", labelSelector: "zone in (" }),
      status.INVALID_ARGUMENT,
      ErrorReason.LABEL_SELECTOR_INVALID,
    );
    expect(bad.fieldViolations[0]!.field).toBe("label_selector");
    for (const { runner } of connected) runner.stream.end();
  });

  it("a drained runner gets no new work, is told so, and finishes what it runs", async () => {
    server = await start({ leaseTtl: "5s" });
    const s = server;
    const { runner, id } = await welcomed(s, "drainee", { pool: "drain" });
    const running = await submitFor(s, "drain");
    const assign = assignOf(await runner.next());
    const { runner: drained } = await call(rpc(s.runners, "drainRunner"), { runnerId: id });
    expect(drained!.state).toBe(RunnerState.RUNNER_STATE_DRAINING);
    expect(caseOf(await runner.next())).toBe("drain");
    const waiting = await submitFor(s, "drain");
    runner.send({
      $case: "runFinished",
      value: { runId: assign.runId, exitCode: 0, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "" },
    });
    expect((await waitForTask(s.tasks, running.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const stillWaiting = await waitForTask(
      s.tasks,
      waiting.id,
      (t) => t.status!.reason === TaskReason.NO_MATCHING_RUNNER,
    );
    expect(stillWaiting.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    runner.stream.end();
  });

  it("DrainRunner: unknown id → NOT_FOUND / RUNNER_NOT_FOUND; empty or malformed id → INVALID_ARGUMENT at runner_id", async () => {
    server = await start();
    await expectError(
      call(rpc(server.runners, "drainRunner"), { runnerId: "0190c5e2-7b1d-7c3a-8f00-0123456789ab" }),
      status.NOT_FOUND,
      ErrorReason.RUNNER_NOT_FOUND,
    );
    const malformed = await expectError(
      call(rpc(server.runners, "drainRunner"), { runnerId: "nope" }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(malformed.fieldViolations[0]?.field).toBe("runner_id");
    const error = await expectError(
      call(rpc(server.runners, "drainRunner"), { runnerId: "" }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations[0]!.field).toBe("runner_id");
  });
});
