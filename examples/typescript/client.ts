// A client: submit tasks, wait for them, read their output, list them.
// Run: SUPERVISOR_ADDR=127.0.0.1:50051 node examples/dist/typescript/client.js
import { embedded, SupervisorClient, subprocess, TaskPhase, taskPhaseToJSON } from "@supervisor/sdk";

const client = new SupervisorClient(); // SUPERVISOR_ADDR, else 127.0.0.1:50051

// A program on any runner; a request id is generated, so a retried submit never runs twice.
const echo = await client.submit(
  subprocess("echo", ["hello from the TypeScript client"], { labels: { example: "ts" } }),
);
console.log(`submitted ${echo.id}`);

// An embedded handler: runs inside a runner process that registered "resize-image". The runner
// selector takes the label-selector syntax of list filters ("gpu,zone in (a,b),!spot") or an object
// such as { matchLabels: { example: "ts" } }; leave out what you do not need.
const resize = await client.submit(
  embedded(
    "resize-image",
    { width: 640, height: 480, scale: 0.5 },
    { labels: { example: "ts" }, runnerSelector: "example=ts" },
  ),
);

for (const task of [echo, resize]) {
  const done = await client.waitFor(task.id);
  console.log(`${task.id} ${taskPhaseToJSON(done.status!.phase)}`);
  if (done.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED) process.exitCode = 1;
}

for await (const event of client.output(echo.id)) {
  if (event.event?.$case === "chunk") process.stdout.write(`output: ${event.event.value.data}`);
}
const [run] = await client.listRuns(resize.id);
console.log(`result: ${JSON.stringify(run?.result)}`);

let count = 0;
for await (const _ of client.list({ filter: { labelSelector: "example=ts" } })) count++;
console.log(`listed ${count} tasks with example=ts`);
client.close();
