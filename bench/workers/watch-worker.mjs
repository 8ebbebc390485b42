// Watchers in their own process. args: {address, kind: "supervisor"|"noop", watchers, channels, chunk, openBudgetMs}.
// Opens `watchers` server streams spread over `channels` connections, `chunk` at a time,
// each counted open at its first message (the supervisor's BOOKMARK; the no-op server's
// empty hello). Then counts the events that follow (BOOKMARKs excluded).
// IPC: says {type:"opened", ready, failed, firstError}; answers {cmd:"count"} with
// {type:"count", events, lastEventAt, errors}; {cmd:"stop"} cancels every stream and exits.

import { WatchTasksRequest } from "@supervisor/sdk";
import { grpc } from "../lib/deps.mjs";

const { credentials, makeGenericClientConstructor } = grpc;

const { address, kind, watchers, channels, chunk = 250, openBudgetMs = 60_000 } = JSON.parse(process.argv[2]);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Both servers are read the same way, as raw bytes: the client only looks at the event type (field 1,
// the first bytes of the message), so the watchers' own decoding does not cap what the server delivers.
const identity = (value) => value;
const streamMethod = (path, requestSerialize) => ({
  path,
  requestStream: false,
  responseStream: true,
  requestSerialize,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const Client = makeGenericClientConstructor(
  {
    Watch:
      kind === "noop"
        ? streamMethod("/bench.Noop/Fanout", identity)
        : streamMethod("/supervisor.v1.TaskService/WatchTasks", (request) =>
            Buffer.from(WatchTasksRequest.encode(request).finish()),
          ),
  },
  "bench.Watch",
);
/** EventType BOOKMARK (4): field 1, varint → bytes 0x08 0x04 at the start of the message. */
const isBookmark = (bytes) => bytes.length >= 2 && bytes[0] === 0x08 && bytes[1] === 4;

const clients = Array.from({ length: channels }, (_, i) => {
  const options = { "bench.connection": `${process.pid}:${i}`, "grpc.max_receive_message_length": 4 * 1024 * 1024 };
  return new Client(address, credentials.createInsecure(), options);
});
const filter = { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "" };
const streams = [];
let events = 0;
let lastEventAt = 0;
let errors = 0;
let firstError;

function open(index) {
  return new Promise((resolve) => {
    const client = clients[index % channels];
    const stream = client.Watch(kind === "noop" ? Buffer.alloc(0) : { sinceRevision: 0, filter, sendInitial: false });
    let ready = false;
    const timer = setTimeout(() => resolve(false), 30_000);
    stream.on("data", (message) => {
      if (!ready) {
        ready = true;
        clearTimeout(timer);
        return resolve(true);
      }
      if (isBookmark(message)) return;
      events++;
      lastEventAt = nowMs();
    });
    stream.on("error", (error) => {
      if (error.code === 1) return; // cancelled by us
      errors++;
      firstError ??= `${error.code} ${error.details ?? error.message}`;
      clearTimeout(timer);
      resolve(false);
    });
    streams.push(stream);
  });
}

process.on("message", (message) => {
  if (message?.cmd === "count") process.send({ type: "count", events, lastEventAt, errors, firstError });
  if (message?.cmd === "stop") {
    for (const stream of streams) stream.cancel();
    for (const client of clients) client.close();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on("disconnect", () => process.exit(0));

let ready = 0;
let failed = 0;
const deadline = nowMs() + openBudgetMs;
for (let opened = 0; opened < watchers && nowMs() < deadline && failed < 100; opened += chunk) {
  const batch = Math.min(chunk, watchers - opened);
  const results = await Promise.all(Array.from({ length: batch }, (_, j) => open(opened + j)));
  for (const ok of results) ok ? ready++ : failed++;
}
process.send({ type: "opened", ready, failed, firstError });
