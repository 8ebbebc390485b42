import { status } from "@grpc/grpc-js";
import { ErrorReason, EventType, TaskPhase } from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "./helpers/fake-clock.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { hello, rawRunner } from "./helpers/raw-runner.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { messages } from "./helpers/streams.js";
import { waitUntil } from "./helpers/wait.js";

// A real server whose clock and timers are one FakeClock (ServerOptions): the timers of the
// services and the sweeper fire when the test moves the clock, not after real seconds.

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Resolves once the server has armed a timer more than it had (the call's handler has started). */
const timerArmed = (clock: FakeClock, before: number, what: string) => waitUntil(() => clock.pending > before, what);

describe("the server on a fake clock", () => {
  it("a connection that never says hello is FAILED_PRECONDITION / RUNNER_PROTOCOL_VIOLATION after 10 s", async () => {
    const clock = new FakeClock();
    server = await startTestServer({}, { clock, timers: clock });
    const mute = rawRunner(server.runners);
    await timerArmed(clock, clock.pending, "the mute connection's hello timer");
    const late = rawRunner(server.runners);
    await timerArmed(clock, clock.pending, "the late connection's hello timer");

    clock.advance(9_999);
    late.send(hello("late")); // a hello a millisecond before the limit is still welcome
    expect((await late.next()).message?.$case).toBe("welcome");
    clock.advance(1);
    await expectError(
      mute.ended.then((error) => Promise.reject(error)),
      status.FAILED_PRECONDITION,
      ErrorReason.RUNNER_PROTOCOL_VIOLATION,
    );
    late.stream.end();
  });

  it("watchers get a BOOKMARK every bookmark interval of the server's timers", async () => {
    const clock = new FakeClock();
    server = await startTestServer({ bookmarkInterval: "10s" }, { clock, timers: clock });
    const before = clock.pending;
    const events = messages(server.tasks.watchTasks({ sinceRevision: 0, sendInitial: false, filter: undefined }));
    try {
      expect((await events.next()).value.type).toBe(EventType.EVENT_TYPE_BOOKMARK); // caught up
      const pendingBookmark = events.next();
      await timerArmed(clock, before, "the bookmark ticker");
      clock.advance(10_000);
      expect((await pendingBookmark).value.type).toBe(EventType.EVENT_TYPE_BOOKMARK);
    } finally {
      await events.return(undefined);
    }
  });

  it("the retention sweeper runs on the server's timers: a canceled task goes once retention has passed", async () => {
    const clock = new FakeClock();
    server = await startTestServer({ retention: "1h", sweepInterval: "1m" }, { clock, timers: clock });
    const s = server;
    const doomed = (await call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec()))).task!;
    const canceled = (await call(rpc(s.tasks, "cancelTask"), { id: doomed.id, reason: "" })).task!;
    expect(canceled.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    const canceledAtMs = clock.now();

    // Minute by minute, each sweep finishing before the next is armed: 59 sweeps leave it alone.
    for (let minute = 1; minute < 60; minute++) await clock.advanceAsync(60_000);
    expect((await call(rpc(s.tasks, "getTask"), { id: doomed.id })).task!.status!.phase).toBe(
      TaskPhase.TASK_PHASE_CANCELED,
    );
    const gone = async () => {
      try {
        await call(rpc(s.tasks, "getTask"), { id: doomed.id });
        return false;
      } catch {
        return true;
      }
    };
    while (!(await gone()) && clock.now() < canceledAtMs + 65 * 60_000) await clock.advanceAsync(60_000);
    // A sweep that fired may still be committing on the writer thread (slow on a loaded machine).
    await waitUntil(gone, "the sweep past retention to delete the task", 20_000);
    await expectError(call(rpc(s.tasks, "getTask"), { id: doomed.id }), status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND);
    expect(clock.now()).toBeGreaterThanOrEqual(canceledAtMs + 60 * 60_000);
  });
});
