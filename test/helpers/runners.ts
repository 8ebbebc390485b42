import type { ChildProcess } from "node:child_process";
import { type Task, type TaskPhase, type TaskServiceClient, TERMINAL_PHASES } from "@supervisor/sdk";
import { startCli, stopChild } from "./cli.js";
import { call, rpc } from "./grpc.js";

export interface RunnerProcess {
  child: ChildProcess;
  id: string;
  name: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A real `supervisor runner` process, resolved once the supervisor welcomed it. */
export async function startRunner(
  address: string,
  name: string,
  options: { labels?: Record<string, string>; capacity?: number; kinds?: string; args?: string[] } = {},
): Promise<RunnerProcess> {
  const args = ["runner", "--addr", address, "--name", name, "--capacity", String(options.capacity ?? 2)];
  for (const [key, value] of Object.entries(options.labels ?? {})) args.push("--label", `${key}=${value}`);
  if (options.kinds) args.push("--kinds", options.kinds);
  args.push(...(options.args ?? []));
  const { child, match, output } = await startCli(args, /connected to \S+ as (\S+)/);
  return { child, id: match[1]!, name, output, stop: (signal) => stopChild(child, signal) };
}

const TERMINAL = new Set<TaskPhase>(TERMINAL_PHASES);

/** Polls GetTask until `until` holds (default: a terminal phase). Bounded: fails after `maxWaitMs`. */
export async function waitForTask(
  client: TaskServiceClient,
  id: string,
  until: (task: Task) => boolean = (t) => TERMINAL.has(t.status!.phase),
  maxWaitMs = 30_000,
): Promise<Task> {
  const giveUpAt = Date.now() + maxWaitMs;
  for (;;) {
    const { task } = await call(rpc(client, "getTask"), { id });
    if (until(task!)) return task!;
    if (Date.now() > giveUpAt)
      throw new Error(`task ${id} did not reach the expected state; last: ${JSON.stringify(task!.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // bound: the interval of a bounded poll
  }
}
