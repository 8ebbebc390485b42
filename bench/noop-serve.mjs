// A raw grpc-js server that does nothing: the transport ceiling the supervisor is compared with.
// Same grpc-js, same server channel options as the supervisor; messages are opaque bytes
// (identity serializers), so the server does no protobuf work and no I/O.
//   /bench.Noop/Submit  unary: answers every request with the same pre-encoded response
//   /bench.Noop/Fanout  server stream: held open; on {cmd:"fanout", count, payload} the
//                        payload is written `count` times to every open stream (with backpressure)

import { SERVER_CHANNEL_OPTIONS } from "../server/dist/server.js";
import { grpc } from "./lib/deps.mjs";

const { Server, ServerCredentials } = grpc;
const settings = JSON.parse(process.argv[2] ?? "{}");
const response = Buffer.from(settings.responseBase64 ?? "", "base64");
const identity = (value) => value;
const method = (name, responseStream) => ({
  path: `/bench.Noop/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
export const NOOP_SERVICE = { Submit: method("Submit", false), Fanout: method("Fanout", true) };

const streams = new Set();
const server = new Server(SERVER_CHANNEL_OPTIONS);
server.addService(NOOP_SERVICE, {
  Submit: (_call, callback) => callback(null, response),
  Fanout: (call) => {
    streams.add(call);
    const forget = () => streams.delete(call);
    call.once("cancelled", forget);
    call.once("close", forget);
    call.once("error", forget);
    call.write(Buffer.alloc(0)); // "ready" (an empty message), as the supervisor's first BOOKMARK
  },
});

async function writeAll(call, payload, count) {
  for (let i = 0; i < count && !call.cancelled; i++) {
    if (!call.write(payload)) await new Promise((resolve) => call.once("drain", resolve));
  }
}

process.on("message", (message) => {
  if (message?.cmd === "gc") {
    globalThis.gc?.();
    globalThis.gc?.();
    process.send?.({ type: "gc", id: message.id });
  } else if (message?.cmd === "streams") {
    process.send?.({ type: "streams", count: streams.size });
  } else if (message?.cmd === "fanout") {
    const payload = Buffer.from(message.payloadBase64, "base64");
    const count = Math.max(0, Math.min(message.count, 1_000_000));
    Promise.all([...streams].map((call) => writeAll(call, payload, count))).then(() =>
      process.send?.({ type: "fanned-out" }),
    );
  }
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => {
  server.forceShutdown();
  process.exit(0);
});

const port = await new Promise((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
    error ? reject(error) : resolve(bound),
  ),
);
process.stdout.write(`${JSON.stringify({ address: `127.0.0.1:${port}`, pid: process.pid })}\n`);
