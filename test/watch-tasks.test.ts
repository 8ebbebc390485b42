import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  EventType,
  SupervisorError,
  type Task,
  type TaskFilter,
  TaskPhase,
  type WatchTasksRequest,
  type WatchTasksResponse,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "./helpers/fake-clock.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { collect, messages } from "./helpers/streams.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const noFilter: TaskFilter = { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "" };
const watch = (s: TestServer, request: Partial<WatchTasksRequest>) =>
  s.tasks.watchTasks({ sinceRevision: 0, sendInitial: false, filter: noFilter, ...request });
const submit = (s: TestServer, labels: Record<string, string> = {}) =>
  call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec("true", [], { labels }))).then((r) => r.task!);
const cancel = (s: TestServer, id: string) => call(rpc(s.tasks, "cancelTask"), { id, reason: "" });
const head = async (s: TestServer) => (await call(rpc(s.tasks, "listTasks"), { pageSize: 1, pageToken: "" })).revision;
const changes = (events: WatchTasksResponse[]) => events.filter((e) => e.type !== EventType.EVENT_TYPE_BOOKMARK);

describe("WatchTasks", () => {
  it("replays from since_revision, then goes live with no gap and no duplicate at the seam", async () => {
    server = await startTestServer();
    const s = server;
    for (let i = 0; i < 30; i++) await submit(s);
    const since = 10;
    const stream = watch(s, { sinceRevision: since });
    // Changes keep committing while the watcher replays: the seam falls somewhere among them.
    const writer = (async () => {
      for (let i = 0; i < 40; i++) await submit(s);
    })();
    const events = await collect(stream, (e) => e.revision >= 70 && e.type !== EventType.EVENT_TYPE_BOOKMARK);
    await writer;
    const revisions = changes(events).map((e) => e.revision);
    expect(revisions).toEqual(Array.from({ length: 70 - since }, (_, i) => since + 1 + i));
    expect(changes(events).every((e) => e.type === EventType.EVENT_TYPE_ADDED && e.task!.revision === e.revision)).toBe(
      true,
    );
  });

  it("since_revision 0 starts from now", async () => {
    server = await startTestServer();
    await submit(server);
    const before = await head(server);
    const events = messages(watch(server, {}));
    // the first message is the BOOKMARK that says the stream is live
    expect((await events.next()).value).toEqual({ type: EventType.EVENT_TYPE_BOOKMARK, revision: before });
    const task = await submit(server);
    const event = (await events.next()).value as WatchTasksResponse;
    await events.return(undefined);
    expect(event).toMatchObject({ type: EventType.EVENT_TYPE_ADDED, revision: before + 1 });
    expect(event.task!.id).toBe(task.id);
  });

  it("send_initial sends ADDED for every matching task, then a BOOKMARK, then changes", async () => {
    server = await startTestServer();
    const s = server;
    const matching = [await submit(s, { team: "a" }), await submit(s, { team: "a" })];
    await submit(s, { team: "b" });
    const stream = watch(s, { sendInitial: true, filter: { ...noFilter, labelSelector: "team=a" } });
    const initial = await collect(stream, (e) => e.type === EventType.EVENT_TYPE_BOOKMARK);
    expect(
      initial
        .slice(0, -1)
        .map((e) => [e.type, e.task!.id])
        .sort(),
    ).toEqual(matching.map((t) => [EventType.EVENT_TYPE_ADDED, t.id]).sort());
    expect(initial.at(-1)!.revision).toBe(3);
  });

  it("applies the filter server-side with enter/leave semantics: leaving a phase filter is DELETED", async () => {
    server = await startTestServer();
    const s = server;
    const stream = watch(s, {
      sinceRevision: await head(s),
      filter: { ...noFilter, phases: [TaskPhase.TASK_PHASE_PENDING], labelSelector: "w=1" },
    });
    const task = await submit(s, { w: "1" });
    await submit(s, { w: "2" }); // outside the filter: never sent
    await cancel(s, task.id); // leaves PENDING
    const events = changes(await collect(stream, (e) => e.type === EventType.EVENT_TYPE_DELETED));
    expect(events.map((e) => [e.type, e.task!.id])).toEqual([
      [EventType.EVENT_TYPE_ADDED, task.id],
      [EventType.EVENT_TYPE_DELETED, task.id],
    ]);
    expect(events[1]!.task!.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
  });

  it("sends periodic BOOKMARKs carrying the head revision", async () => {
    server = await startTestServer({ bookmarkInterval: "100ms" });
    await submit(server);
    const events = await collect(watch(server, { sinceRevision: 1 }), (_, all) => all.length === 3);
    expect(events).toEqual([1, 1, 1].map((revision) => ({ type: EventType.EVENT_TYPE_BOOKMARK, revision })));
  });

  it("a revision newer than the head is INVALID_ARGUMENT at since_revision; a negative one too", async () => {
    server = await startTestServer();
    for (const sinceRevision of [999, -1]) {
      const error = await expectError(
        collect(watch(server, { sinceRevision }), () => true),
        status.INVALID_ARGUMENT,
        ErrorReason.INVALID_REQUEST,
      );
      expect(error.fieldViolations[0]!.field).toBe("since_revision");
    }
  });

  it("a bad label selector is INVALID_ARGUMENT / LABEL_SELECTOR_INVALID", async () => {
    server = await startTestServer();
    const error = await expectError(
      collect(watch(server, { filter: { ...noFilter, labelSelector: "a in (" } }), () => true),
      status.INVALID_ARGUMENT,
      ErrorReason.LABEL_SELECTOR_INVALID,
    );
    expect(error.fieldViolations[0]!.field).toBe("filter.label_selector");
  });

  it("a compacted revision is OUT_OF_RANGE / REVISION_COMPACTED with oldest_revision", async () => {
    // On a fake clock the sweeper runs only when the test moves it: never in the middle of the
    // submits (on real time a sweep between two of them compacted to an earlier revision).
    const clock = new FakeClock();
    server = await startTestServer(
      { journalMinRevisions: 5, journalMinAge: "1ms", sweepInterval: "50ms" },
      { clock, timers: clock },
    );
    const s = server;
    for (let i = 0; i < 20; i++) await submit(s);
    // The sweeper runs on the fake clock: only now, after all 20 submits.
    await clock.advanceAsync(50);
    // Revision 1 replays until the sweeper has compacted all it may (everything but the newest 5 of the
    // 20 revisions); then the watch fails.
    const refusal = await waitUntil(
      async () => {
        const result = await collect(watch(s, { sinceRevision: 1 }), () => true).catch((e: unknown) => e);
        const oldest = result instanceof Error ? SupervisorError.from(result).metadata.oldest_revision : undefined;
        return oldest === "16" ? result : undefined;
      },
      "the sweeper to compact the journal through revision 15",
      10_000,
    ).catch(() => undefined);
    expect(refusal, "the sweeper should have compacted the journal").toBeDefined();
    const error = await expectError(Promise.reject(refusal), status.OUT_OF_RANGE, ErrorReason.REVISION_COMPACTED);
    expect(Number(error.metadata.oldest_revision)).toBe(16);
    // and the kept tail still replays
    const tail = await collect(watch(server, { sinceRevision: 15 }), (e) => e.revision === 20);
    expect(changes(tail).map((e) => e.revision)).toEqual([16, 17, 18, 19, 20]);
  });

  it("a watcher that stops reading is ended with RESOURCE_EXHAUSTED / WATCH_TOO_SLOW, not buffered without bound", async () => {
    server = await startTestServer({ watchMaxLag: 50 });
    const s = server;
    await submit(s);
    const stream = watch(s, { sinceRevision: await head(s) });
    let received = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reader = (async () => {
      for await (const event of messages(stream)) {
        await gate; // a consumer that stops reading after the first message
        if (event.type !== EventType.EVENT_TYPE_BOOKMARK) received++;
      }
    })();
    for (let i = 0; i < 4; i++) {
      await call(rpc(s.tasks, "batchSubmitTasks"), {
        requests: Array.from({ length: 1000 }, () => submitRequest(subprocessSpec("true", ["x".repeat(200)]))),
        returnPartialSuccess: false,
      });
    }
    release();
    const error = await expectError(reader, status.RESOURCE_EXHAUSTED, ErrorReason.WATCH_TOO_SLOW);
    expect(received).toBeLessThan(4000);
    // the error says where to resume from, and resuming from there works
    const resumeFrom = Number(error.metadata.last_revision);
    expect(resumeFrom).toBeGreaterThan(0);
    const resumed = await collect(watch(s, { sinceRevision: resumeFrom }), (e) => e.revision === resumeFrom + 1);
    expect(resumed.at(-1)!.revision).toBe(resumeFrom + 1);
  });

  it("a filtered watcher is not cut off by changes it never receives, however many", async () => {
    server = await startTestServer({ watchMaxLag: 50 });
    const s = server;
    const events = messages(watch(s, { filter: { ...noFilter, labelSelector: "rare=yes" } }));
    expect((await events.next()).value.type).toBe(EventType.EVENT_TYPE_BOOKMARK);
    for (let i = 0; i < 3; i++) {
      await call(rpc(s.tasks, "batchSubmitTasks"), {
        requests: Array.from({ length: 1000 }, () =>
          submitRequest(subprocessSpec("true", [], { labels: { rare: "no" } })),
        ),
        returnPartialSuccess: false,
      });
    }
    const rare = await submit(s, { rare: "yes" });
    const event = (await events.next()).value as WatchTasksResponse;
    await events.return(undefined);
    expect(event).toMatchObject({ type: EventType.EVENT_TYPE_ADDED, revision: 3001 });
    expect(event.task!.id).toBe(rare.id);
  });

  it("resumes from its last revision after a server restart on the same database", async () => {
    server = await startTestServer();
    const s = server;
    const first = await collect(watch(s, { sinceRevision: await head(s) }), (_e, all) => {
      if (all.length === 1) void submit(s).then(() => submit(s)); // after the live BOOKMARK
      return changes(all).length === 2;
    });
    const last = changes(first).at(-1)!.revision;
    await s.restart();
    const afterRestart = [await submit(s), await submit(s)];
    const resumed = changes(await collect(watch(s, { sinceRevision: last }), (e) => e.revision === last + 2));
    expect(resumed.map((e) => e.revision)).toEqual([last + 1, last + 2]);
    expect(resumed.map((e) => e.task!.id)).toEqual(afterRestart.map((t) => t.id));
  });

  it("list-then-watch converges to the same state as a fresh list", async () => {
    server = await startTestServer();
    const s = server;
    const seedIds = [] as string[];
    for (let i = 0; i < 20; i++) seedIds.push((await submit(s, { mix: "yes" })).id);
    const listed = await call(rpc(s.tasks, "listTasks"), {
      pageSize: 1000,
      pageToken: "",
      filter: { ...noFilter, labelSelector: "mix=yes" },
    });
    const state = new Map<string, Task>(listed.tasks.map((t) => [t.id, t]));
    const stream = watch(s, { sinceRevision: listed.revision, filter: { ...noFilter, labelSelector: "mix=yes" } });
    // churn: new tasks, cancels, and tasks outside the filter
    for (let i = 0; i < 10; i++) {
      await submit(s, { mix: "yes" });
      await submit(s, { mix: "no" });
      await cancel(s, seedIds[i]!);
    }
    const target = await head(s);
    for await (const event of messages(stream)) {
      if (event.type === EventType.EVENT_TYPE_DELETED) state.delete(event.task!.id);
      else if (event.type !== EventType.EVENT_TYPE_BOOKMARK) state.set(event.task!.id, event.task!);
      if (event.revision >= target) break;
    }
    const fresh = await call(rpc(s.tasks, "listTasks"), {
      pageSize: 1000,
      pageToken: "",
      filter: { ...noFilter, labelSelector: "mix=yes" },
    });
    expect(new Map(fresh.tasks.map((t) => [t.id, t]))).toEqual(state);
    expect(state.size).toBe(30);
  });
});
