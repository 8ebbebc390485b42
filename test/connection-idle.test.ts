import { once } from "node:events";
import { connect, constants } from "node:http2";
import { type Channel, connectivityState, credentials } from "@grpc/grpc-js";
import {
  type ConnectResponse,
  EventType,
  RunnerServiceClient,
  type TaskFilter,
  TaskServiceClient,
  type WatchTasksResponse,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../server/src/config.js";
import { serverChannelOptions } from "../server/src/server.js";
import { call, rpc } from "./helpers/grpc.js";
import { hello, rawRunner } from "./helpers/raw-runner.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { messages } from "./helpers/streams.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A client of its own connection (grpc-js otherwise shares one per address), so one stream is all it carries. */
const OWN_CONNECTION = { "grpc.use_local_subchannel_pool": 1 };
const noFilter: TaskFilter = { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "" };

/** Opens a raw HTTP/2 connection, starts no stream on it, and resolves once the server has closed it. */
async function idleConnectionClosed(address: string): Promise<{ goawayCode: number | undefined }> {
  const session = connect(`http://${address}`);
  let goawayCode: number | undefined;
  session.on("goaway", (code: number) => (goawayCode = code));
  await once(session, "close"); // bounded by the test timeout
  return { goawayCode };
}

/** Resolves once the channel is in `state`; bounded by the test timeout. */
async function becomes(
  channel: Pick<Channel, "getConnectivityState" | "watchConnectivityState">,
  state: connectivityState,
): Promise<void> {
  for (let now = channel.getConnectivityState(false); now !== state; now = channel.getConnectivityState(false)) {
    await new Promise<void>((resolve, reject) =>
      channel.watchConnectivityState(now, Date.now() + 60_000, (error) => (error ? reject(error) : resolve())),
    );
  }
}

const submit = (s: TestServer) =>
  call(rpc(s.tasks, "submitTask"), submitRequest(subprocessSpec("echo", ["x"]))).then((r) => r.task!);
const assignedTaskId = (message: ConnectResponse) => {
  expect(message.message!.$case).toBe("assign");
  return (message.message as { value: { taskId: string } }).value.taskId;
};

describe("idle connections", () => {
  it("a connection that starts no stream is closed by the server (GOAWAY) after connectionIdleTimeout", async () => {
    server = await startTestServer({ connectionIdleTimeout: "1s" });
    const { goawayCode } = await idleConnectionClosed(server.address);
    expect(goawayCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it("runner Connect streams and watches are open calls: their quiet connections outlive the timeout", async () => {
    server = await startTestServer({ connectionIdleTimeout: "1s" });
    const s = server;
    const runners = new RunnerServiceClient(s.address, credentials.createInsecure(), OWN_CONNECTION);
    const watcher = new TaskServiceClient(s.address, credentials.createInsecure(), OWN_CONNECTION);
    const runner = rawRunner(runners);
    const watch = watcher.watchTasks({ sinceRevision: 0, sendInitial: false, filter: noFilter });
    const events = messages<WatchTasksResponse>(watch);
    /** The next ADDED event on the watch; a cut stream throws or ends here, failing the test. */
    const nextAdded = async () => {
      for (;;) {
        const { value, done } = await events.next();
        if (done) throw new Error("the watch stream ended");
        if (value.type === EventType.EVENT_TYPE_ADDED) return value.task!.id;
      }
    };
    try {
      runner.send(hello("quiet-runner", { capacity: 2 }));
      expect((await runner.next()).message!.$case).toBe("welcome");
      const first = await submit(s);
      expect(await nextAdded()).toBe(first.id);
      expect(assignedTaskId(await runner.next())).toBe(first.id);

      // A connection opened after both streams started is reaped: theirs have been quiet at least as long.
      await idleConnectionClosed(s.address);
      // The submitting client's connection (its call long finished) was reaped too: the client saw it...
      await becomes(s.tasks.getChannel(), connectivityState.IDLE);
      // ...while the connections carrying the quiet streams were left alone.
      expect(runners.getChannel().getConnectivityState(false)).toBe(connectivityState.READY);
      expect(watcher.getChannel().getConnectivityState(false)).toBe(connectivityState.READY);

      const second = await submit(s); // this client's own idle connection may be gone: it reconnects
      expect(await nextAdded()).toBe(second.id);
      expect(assignedTaskId(await runner.next())).toBe(second.id);
    } finally {
      await events.return(undefined);
      runner.stream.end();
      runners.close();
      watcher.close();
    }
  });

  it("connectionIdleTimeout defaults to 5m, 0 means never, and is bounded by what a timer can wait", () => {
    expect(loadConfig({}).connectionIdleTimeoutMs).toBe(5 * 60_000);
    const never = serverChannelOptions(loadConfig({ flags: { connectionIdleTimeout: "0" } }));
    expect(never["grpc.max_connection_idle_ms"]).toBe(2 ** 31 - 1); // grpc-js: this and above = no idle timer
    expect(() => loadConfig({ flags: { connectionIdleTimeout: "30d" } })).toThrow(ConfigError);
    expect(() => loadConfig({ flags: { connectionIdleTimeout: "30d" } })).toThrow(
      "--connection-idle-timeout: at most 24d (0 = never)",
    );
  });
});
