/**
 * Type-level tests of the SDK's inputs, checked by `npm run lint` (tsc -p
 * test/tsconfig.json) and never run: what a user writes naturally must
 * compile, and every `@ts-expect-error` line must stay an error (tsc fails
 * when one stops being one).
 */
import {
  duration,
  embedded,
  formatRunnerSelector,
  type Informer,
  type InformerOptions,
  type ListOptions,
  type ListPageOptions,
  type RunnerSelector,
  runnerSelector,
  SelectorOperator,
  type SupervisorClient,
  subprocess,
  type Task,
  type TaskFilterInput,
  TaskPhase,
  type TaskSpec,
  type TaskSpecInput,
  TERMINAL_PHASES,
  type WaitForOptions,
  type WatchOptions,
  wasm,
} from "@supervisor/sdk";

const { SELECTOR_OPERATOR_EXISTS: EXISTS } = SelectorOperator;

export function specHelpers(): TaskSpec[] {
  const args = ["-c", "1"] as const;
  return [
    // A RunnerSelector with either part left out, or a selector string.
    subprocess("nvidia-smi", [], { runnerSelector: { matchLabels: { gpu: "true" } } }),
    subprocess("nvidia-smi", args, { runnerSelector: "gpu,zone in (a,b),!spot" }),
    embedded("resize", { width: 640 }, { runnerSelector: { matchExpressions: [{ key: "gpu", operator: EXISTS }] } }),
    wasm("/opt/m.wasm", ["x"], { env: { A: "1" }, labels: { team: "a" }, timeout: duration("5s") }),
    subprocess("true", [], { backoff: { multiplier: 3 }, notBefore: new Date(), maxAttempts: 2 }),
    embedded("noop"),
  ];
}

export async function requests(client: SupervisorClient, signal: AbortSignal): Promise<Task[]> {
  const partial: TaskSpecInput = { exec: { $case: "subprocess", value: { command: "true" } } };
  const selector: RunnerSelector = runnerSelector("gpu");
  const text: string = formatRunnerSelector({ matchLabels: { gpu: "true" } });
  const filter: TaskFilterInput = { labelSelector: text };
  return [
    await client.submit(partial),
    await client.submit({ ...partial, runnerSelector: { matchLabels: { gpu: "true" } } }, { requestId: "r-1" }),
    await client.submit({ exec: { $case: "embedded", value: { handler: "h" } }, runnerSelector: selector }),
    ...(await client.submitBatch([subprocess("true"), { spec: partial, requestId: "r-2" }, { labels: { a: "b" } }])),
    await client.cancel("id"),
    await client.cancel("id", "changed my mind", { deadlineMs: 1000 }),
    await client.cancel("id", { reason: "changed my mind", signal }),
    await client.waitFor("id", { phases: [TaskPhase.TASK_PHASE_RUNNING], signal }),
    (await client.listPage({ filter, pageSize: 10, pageToken: "", deadlineMs: 1000 })).tasks[0]!,
  ];
}

export async function queries(client: SupervisorClient, signal: AbortSignal): Promise<Informer> {
  // One shape for list, listPage, watch and informer: { filter, ..., signal }. Arrays may be readonly.
  for await (const task of client.list({ filter: { phases: TERMINAL_PHASES }, pageSize: 100, signal })) void task.id;
  for await (const task of client.list()) void task.id;
  const watch = client.watch({ filter: { slot: "s", runnerId: "r" }, sinceRevision: 3, sendInitial: true, signal });
  for await (const event of watch) void event.task?.status?.phase;
  // The 0.1 shapes still compile (deprecated).
  for await (const task of client.list({ labelSelector: "a=b" }, { pageSize: 3 })) void task.id;
  client.informer({ labelSelector: "a=b" }, { onAdd: (task) => void task.id });
  return client.informer({ filter: { labelSelector: "a=b" }, onAdd: (task) => void task.id, signal });
}

// The option types are exported, so options can be built apart from the call.
export const named: [ListOptions, ListPageOptions, WatchOptions, InformerOptions, WaitForOptions] = [
  { filter: { labelSelector: "a=b" }, pageSize: 10 },
  { pageToken: "" },
  { filter: { phases: [TaskPhase.TASK_PHASE_RUNNING] }, sinceRevision: 1 },
  { filter: {}, onDelete: (task) => void task.id },
  { phases: TERMINAL_PHASES },
];

export async function stillErrors(client: SupervisorClient): Promise<void> {
  // @ts-expect-error a misspelled field
  subprocess("true", [], { runnerSelecter: "gpu" });
  // @ts-expect-error a misspelled field inside the RunnerSelector
  subprocess("true", [], { runnerSelector: { matchLabel: { gpu: "true" } } });
  // @ts-expect-error label values are strings
  subprocess("true", [], { runnerSelector: { matchLabels: { gpu: true } } });
  // @ts-expect-error not a selector
  embedded("h", {}, { runnerSelector: 42 });
  // @ts-expect-error operators are the SelectorOperator enum
  formatRunnerSelector({ matchExpressions: [{ key: "gpu", operator: "exists" }] });
  // @ts-expect-error the exec is given by the helper
  subprocess("true", [], { exec: { $case: "wasm", value: { modulePath: "m.wasm" } } });
  // @ts-expect-error no such exec
  await client.submit({ exec: { $case: "shell", value: {} } });
  // @ts-expect-error a misspelled spec field
  await client.submit({ labls: { a: "b" } });
  // @ts-expect-error request ids are strings
  await client.submit(subprocess("true"), { requestId: 7 });
  // @ts-expect-error batch items are specs or { spec, requestId }
  await client.submitBatch([{ spec: subprocess("true"), requestId: 7 }]);
  // @ts-expect-error the label selector is a string
  client.list({ filter: { labelSelector: ["a=b"] } });
  // @ts-expect-error phases are TaskPhase values
  client.list({ filter: { phases: ["RUNNING"] } });
  // @ts-expect-error a page size is a number
  client.listPage({ pageSize: "10" });
  // @ts-expect-error a revision is a number
  client.watch({ sinceRevision: "3" });
  // @ts-expect-error the filter goes under `filter` in the new shape, next to other options
  client.watch({ labelSelector: "a=b", sinceRevision: 3 });
  // @ts-expect-error handlers take a Task
  client.informer({ onAdd: (task: string) => void task });
  // @ts-expect-error a reason is a string
  await client.cancel("id", 42);
  // @ts-expect-error the options form takes no third argument
  await client.cancel("id", { reason: "why" }, { deadlineMs: 5 });
}
