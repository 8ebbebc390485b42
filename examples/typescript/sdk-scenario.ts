// The SDK conformance scenario (docs/sdk-conformance.md) for the TypeScript SDK.
// Run: SUPERVISOR_ADDR=host:port node examples/dist/typescript/sdk-scenario.js
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import {
  EventType,
  embedded,
  Runner,
  SupervisorClient,
  SupervisorError,
  subprocess,
  taskPhaseToJSON,
  type WatchTasksResponse,
} from "@supervisor/sdk";

const LANG = "ts";
const labels = { scenario: LANG };
const selector = `scenario=${LANG}`;
const say = (line: string) => console.log(line);
function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}
const waitingTask = () => subprocess("true", [], { labels, runnerSelector: "absent=yes" });
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Reads the watch until `until` is ADDED; returns every ADDED id seen on the way. */
async function addedIds(watch: AsyncIterator<WatchTasksResponse>, until: string): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const next = await watch.next();
    check(!next.done, "the watch ended");
    if (next.value.type !== EventType.EVENT_TYPE_ADDED) continue;
    seen.push(next.value.task!.id);
    if (next.value.task!.id === until) return seen;
  }
}

const client = new SupervisorClient();
const requestIds = [randomUUID(), randomUUID(), randomUUID()];
const ids: string[] = [];
for (const requestId of requestIds) ids.push((await client.submit(waitingTask(), { requestId })).id);
for (const id of ids) say(`submitted ${id}`);
const again = await client.submit(waitingTask(), { requestId: requestIds[0] });
check(again.id === ids[0], "a repeated request id returns the original task");
say(`idempotent ${again.id}`);

const first = await client.listPage({ filter: { labelSelector: selector }, pageSize: 2 });
const second = await client.listPage({
  filter: { labelSelector: selector },
  pageSize: 2,
  pageToken: first.nextPageToken,
});
check(second.nextPageToken === "", "two pages hold the three tasks");
say(`page 1: ${first.tasks.length}`);
say(`page 2: ${second.tasks.length}`);
const listed: string[] = [];
for await (const task of client.list({ filter: { labelSelector: selector }, pageSize: 2 })) listed.push(task.id);
say(`listed ${listed.join(" ")}`);

const stop = new AbortController();
const watch = client.watch({ filter: { labelSelector: selector }, sinceRevision: first.revision, signal: stop.signal });
const events = watch[Symbol.asyncIterator]();
const fourth = (await client.submit(waitingTask())).id;
for (const id of await addedIds(events, fourth)) say(`event ADDED ${id}`);
say("drop-now");
check((await stdin.next()).value === "dropped", "the test says it dropped the connections");
const fifth = (await client.submit(waitingTask())).id;
for (const id of await addedIds(events, fifth)) say(`event ADDED ${id}`);
stop.abort();
await events.return?.(undefined);

for (let i = 0; i < 2; i++) {
  const task = await client.cancel(ids[0], "conformance");
  say(`canceled ${task.id} ${taskPhaseToJSON(task.status!.phase)}`);
}

try {
  await client.submit(subprocess("", [], { labels }));
  check(false, "an empty command is refused");
} catch (thrown) {
  const error = SupervisorError.from(thrown);
  say(`invalid ${error.codeName} ${error.reason} ${error.fieldViolations.map((v) => v.field).join(",")}`);
}
try {
  await client.get(randomUUID());
  check(false, "an unknown id is not found");
} catch (thrown) {
  const error = SupervisorError.from(thrown);
  say(`not-found ${error.codeName} ${error.reason}`);
}

const runner = new Runner({
  address: process.env.SUPERVISOR_ADDR!,
  name: `scenario-${LANG}`,
  capacity: 2,
  log: () => {},
});
runner.handle("scenario.echo", (payload, ctx) => {
  ctx.log(`hello ${payload.word}`);
  return { echo: payload.word, lang: LANG };
});
await runner.start();
const task = await client.submit(embedded("scenario.echo", { word: "conformance" }, { labels }));
const done = await client.waitFor(task.id);
const [run] = await client.listRuns(task.id);
const result = run?.result ?? {};
const sorted = Object.fromEntries(
  Object.keys(result)
    .sort()
    .map((key) => [key, result[key]]),
);
say(`runner ${taskPhaseToJSON(done.status!.phase)} ${JSON.stringify(sorted)}`);
let output = "";
for await (const event of client.output(task.id)) if (event.event?.$case === "chunk") output += event.event.value.data;
say(`output ${output.trim()}`);
await runner.stop();
client.close();
say("done");
process.exit(0);
