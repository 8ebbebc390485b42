import { status } from "@grpc/grpc-js";
import { ErrorReason, EventType, TaskPhase } from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { messages } from "./helpers/streams.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/**
 * Resolves once the sweeper has run `passes` more complete passes: each pass deletes a canceled
 * marker task (a DELETED event), and a marker canceled after the previous one's deletion can only
 * go in a later pass, which starts once the earlier pass, idempotency keys included, is done.
 */
async function sweeps(s: TestServer, passes: number): Promise<void> {
  const events = messages(s.tasks.watchTasks({ sinceRevision: 0, sendInitial: false, filter: undefined }));
  try {
    expect((await events.next()).value.type).toBe(EventType.EVENT_TYPE_BOOKMARK);
    for (let pass = 0; pass <= passes; pass++) {
      const marker = (await call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec()))).task!;
      await call(rpc(s.tasks, "cancelTask"), { id: marker.id, reason: "" });
      for (;;) {
        const event = (await events.next()).value;
        if (event.type === EventType.EVENT_TYPE_DELETED && event.task.id === marker.id) break;
      }
    }
  } finally {
    await events.return(undefined);
  }
}

describe("retention", () => {
  it("deletes terminal tasks past retention (DELETED event, then NOT_FOUND) and keeps active ones", async () => {
    server = await startTestServer({ retention: "1ms", sweepInterval: "50ms" });
    const s = server;
    const active = (await call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec()))).task!;
    const doomed = (await call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec()))).task!;
    const events = messages(s.tasks.watchTasks({ sinceRevision: 0, sendInitial: false, filter: undefined }));
    expect((await events.next()).value.type).toBe(EventType.EVENT_TYPE_BOOKMARK);
    await call(rpc(s.tasks, "cancelTask"), { id: doomed.id, reason: "" });
    const seen: { type: EventType; id: string; phase?: TaskPhase }[] = [];
    for (;;) {
      const event = (await events.next()).value;
      if (event.type === EventType.EVENT_TYPE_BOOKMARK) continue;
      seen.push({ type: event.type, id: event.task.id, phase: event.task.status?.phase });
      if (event.type === EventType.EVENT_TYPE_DELETED) break;
    }
    await events.return(undefined);
    expect(seen).toEqual([
      { type: EventType.EVENT_TYPE_MODIFIED, id: doomed.id, phase: TaskPhase.TASK_PHASE_CANCELED },
      { type: EventType.EVENT_TYPE_DELETED, id: doomed.id, phase: TaskPhase.TASK_PHASE_CANCELED },
    ]);
    await expectError(call(rpc(s.tasks, "getTask"), { id: doomed.id }), status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND);
    expect((await call(rpc(s.tasks, "getTask"), { id: active.id })).task!.status!.phase).toBe(
      TaskPhase.TASK_PHASE_PENDING,
    );
  });

  it("forgets request_id keys after their TTL", async () => {
    server = await startTestServer({ idempotencyTtl: "1ms", sweepInterval: "50ms" });
    const s = server;
    await call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec("echo", ["a"]), "ttl-key"));
    // Until the key expires, another spec under it is refused; afterwards the key is free again.
    await waitUntil(async () => {
      const result = await call(
        rpc(s.tasks, "submitTask"),
        submitRequest(subprocessSpec("echo", ["b"]), "ttl-key"),
      ).catch(() => undefined);
      return result !== undefined;
    }, "the sweeper to forget the key");
  });

  it("keeps idempotency keys within their TTL", async () => {
    // Tasks go at once (their deletions show the sweeps); keys keep the default TTL of a day.
    server = await startTestServer({ retention: "1ms", sweepInterval: "50ms" });
    const s = server;
    await call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec("echo", ["a"]), "kept-key"));
    await sweeps(s, 3);
    await expectError(
      call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec("echo", ["b"]), "kept-key")),
      status.ALREADY_EXISTS,
      ErrorReason.REQUEST_ID_REUSED,
    );
  });
});
