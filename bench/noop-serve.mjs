// A raw grpc-js server that does nothing: the transport ceiling the supervisor is compared with.
// Same grpc-js, same server channel options as the supervisor; messages are opaque bytes
// (identity serializers), so the server does no protobuf work and no I/O.
//   /bench.Noop/Submit  unary: answers every request with the same pre-encoded response
//   /bench.Noop/Fanout  server stream: held open; on {cmd:"fanout", count, payload} the
//                        payload is written `count` times to every open stream (with backpressure)
//   /supervisor.v1.TaskService/SubmitTask and /BatchSubmitTasks: the same task (settings.taskBase64, an encoded
//                        Task) for every request, one per request of a batch: what the SDK's client costs alone

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
const taskMethod = (name) => ({ ...method(name, false), path: `/supervisor.v1.TaskService/${name}` });
const TASK_SERVICE = { SubmitTask: taskMethod("SubmitTask"), BatchSubmitTasks: taskMethod("BatchSubmitTasks") };

/** A message with `count` copies of `bytes` as field 1 (SubmitTaskResponse.task, BatchSubmitTasksResponse.tasks). */
function repeated(bytes, count) {
  const prefix = [0x0a];
  for (let length = bytes.length; ; length >>>= 7) {
    if (length < 0x80) {
      prefix.push(length);
      break;
    }
    prefix.push((length & 0x7f) | 0x80);
  }
  const entry = Buffer.concat([Buffer.from(prefix), bytes]);
  return Buffer.concat(Array.from({ length: count }, () => entry));
}

/** How many `requests` (field 1, length-delimited) a BatchSubmitTasksRequest holds, without decoding them. */
function requestCount(bytes) {
  let count = 0;
  let pos = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    if ((tag & 7) === 0) varint();
    else if ((tag & 7) === 2) {
      const length = varint(); // read before pos: `pos += varint()` would add to the old pos
      pos += length;
      if (tag === 0x0a) count++;
    } else throw new Error(`unexpected wire type in tag ${tag}`);
  }
  return count;
}

const task = Buffer.from(settings.taskBase64 ?? "", "base64");
const submitAnswer = repeated(task, 1);
const batchAnswers = new Map();
const batchAnswer = (count) => {
  let answer = batchAnswers.get(count);
  if (!answer) batchAnswers.set(count, (answer = repeated(task, count)));
  return answer;
};

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
server.addService(TASK_SERVICE, {
  SubmitTask: (_call, callback) => callback(null, submitAnswer),
  BatchSubmitTasks: (call, callback) => callback(null, batchAnswer(requestCount(call.request))),
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
