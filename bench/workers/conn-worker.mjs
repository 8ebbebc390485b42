// Idle runner connections in their own process. args: {address, connections, prefix}.
// {cmd:"connect"}: opens `connections` TCP/HTTP2 connections (one grpc-js channel each), no stream
//                  → {type:"connected", ok, failed}
// {cmd:"hello"}:   on each, a RunnerService.Connect stream says hello and waits for its welcome,
//                  then heartbeats at the interval the supervisor asked → {type:"welcomed", ok, failed, firstError}
// {cmd:"stop"}:    ends the streams and exits.

import { RunnerServiceClient } from "@supervisor/sdk";
import { grpc } from "../lib/deps.mjs";

const { credentials } = grpc;

const { address, connections, prefix = "idle", pool = "idle" } = JSON.parse(process.argv[2]);
const clients = [];
const streams = [];
let heartbeatMs = 5_000;
let heartbeat;

function connectAll() {
  return Promise.all(
    Array.from({ length: connections }, (_, i) => {
      const client = new RunnerServiceClient(address, credentials.createInsecure(), {
        "bench.connection": `${process.pid}:${i}`,
      });
      clients.push(client);
      return new Promise((resolve) => client.waitForReady(Date.now() + 30_000, (error) => resolve(!error)));
    }),
  );
}

let firstError;
function hello(client, i) {
  return new Promise((resolve) => {
    const stream = client.connect();
    streams.push(stream);
    const timer = setTimeout(() => resolve(false), 30_000);
    stream.on("data", (message) => {
      if (message.message?.$case !== "welcome") return;
      const interval = message.message.value.heartbeatInterval;
      if (interval) heartbeatMs = interval.seconds * 1000 + Math.floor(interval.nanos / 1e6);
      clearTimeout(timer);
      resolve(true);
    });
    stream.on("error", (error) => {
      if (error.code === 1) return;
      firstError ??= `${error.code} ${error.details ?? error.message}`;
      clearTimeout(timer);
      resolve(false);
    });
    stream.write({
      message: {
        $case: "hello",
        value: {
          name: `${prefix}-${process.pid}-${i}`,
          labels: { pool },
          kinds: ["subprocess"],
          capacity: 1,
          version: "bench",
          activeRunIds: [],
          instanceId: "",
          finishedRunIds: [],
        },
      },
    });
  });
}

const count = (results) => ({ ok: results.filter(Boolean).length, failed: results.filter((r) => !r).length });

process.on("message", async (message) => {
  if (message?.cmd === "connect") {
    process.send({ type: "connected", ...count(await connectAll()) });
  } else if (message?.cmd === "hello") {
    const results = [];
    // 50 at a time: a burst of hellos is not what this measures
    for (let i = 0; i < clients.length; i += 50)
      results.push(...(await Promise.all(clients.slice(i, i + 50).map((c, j) => hello(c, i + j)))));
    heartbeat = setInterval(
      () => {
        for (const stream of streams) stream.write({ message: { $case: "heartbeat", value: {} } });
      },
      Math.max(500, heartbeatMs * 0.8),
    );
    process.send({ type: "welcomed", ...count(results), firstError });
  } else if (message?.cmd === "stop") {
    clearInterval(heartbeat);
    for (const stream of streams) stream.end();
    for (const client of clients) client.close();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on("disconnect", () => process.exit(0));
process.send({ type: "started" });
