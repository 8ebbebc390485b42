import { OutputStream, Placement, type SupervisorClient, type Task, TaskPhase } from "@supervisor/sdk";
import { EXIT } from "./exit.js";
import { json, phaseName } from "./format.js";

/**
 * Exit code of `submit --wait` and `rerun --wait`: the program's own code when it has one,
 * else by phase (124 = timeout, like timeout(1)).
 */
export function exitCodeOf(task: Task): number {
  const { phase, exitCode } = task.status!;
  if (phase === TaskPhase.TASK_PHASE_SUCCEEDED) return 0;
  if (phase === TaskPhase.TASK_PHASE_TIMEOUT) return EXIT.TIMEOUT;
  if (phase === TaskPhase.TASK_PHASE_CANCELED) return EXIT.INTERRUPTED;
  return exitCode !== undefined && exitCode > 0 ? exitCode : EXIT.FAILED;
}

const isActive = (task: Task) =>
  task.status!.phase === TaskPhase.TASK_PHASE_PENDING || task.status!.phase === TaskPhase.TASK_PHASE_RUNNING;

/** Streams each attempt's output as it is printed, until the task ends (or the signal, Ctrl-C, fires). */
async function followToTheEnd(client: SupervisorClient, task: Task, signal: AbortSignal): Promise<Task> {
  const progress = process.stderr.isTTY ? (line: string) => process.stderr.write(`\r\x1b[2K${line}`) : () => {};
  for (let attempt = 1; !signal.aborted; attempt++) {
    progress(`waiting for attempt ${attempt} of ${task.id} to start…`);
    let started = false;
    for await (const event of client.output(task.id, { attempt, follow: true, signal })) {
      const body = event.event;
      if (body?.$case === "runStarted" && !started) {
        started = true;
        progress("");
      } else if (body?.$case === "chunk") {
        (body.value.stream === OutputStream.OUTPUT_STREAM_STDERR ? process.stderr : process.stdout).write(
          body.value.data,
        );
      }
    }
    progress("");
    if (signal.aborted) break;
    const current = await client.get(task.id, { signal });
    if (!isActive(current)) return current;
    if (!started && current.status!.attempt < attempt) attempt--; // the follow ended early; try the same attempt again
  }
  return client.get(task.id);
}

/**
 * A fan-out parent runs nothing itself: once it has ended, each child's output, every line prefixed with
 * its runner's name (`[build-1] …`), children in runner-name order.
 */
async function printChildrenOutput(client: SupervisorClient, parent: Task): Promise<void> {
  const names = new Map((await client.listRunners()).map((runner) => [runner.id, runner.name]));
  const children: { child: Task; name: string }[] = [];
  for await (const child of client.list({ filter: { parentId: parent.id } })) {
    const runnerId = child.spec!.pinnedRunnerId;
    children.push({ child, name: names.get(runnerId) ?? runnerId });
  }
  children.sort((a, b) => a.name.localeCompare(b.name));
  for (const { child, name } of children) {
    const text = { stdout: "", stderr: "" };
    try {
      for await (const event of client.output(child.id, { attempt: 0 })) {
        if (event.event?.$case !== "chunk") continue;
        const stream = event.event.value.stream === OutputStream.OUTPUT_STREAM_STDERR ? "stderr" : "stdout";
        text[stream] += Buffer.from(event.event.value.data).toString("utf8");
      }
    } catch {
      // A child without output (it never ran, or printed nothing) has nothing to show.
    }
    for (const stream of ["stdout", "stderr"] as const) {
      const lines = text[stream].split("\n");
      if (lines.at(-1) === "") lines.pop();
      for (const line of lines) process[stream].write(`[${name}] ${line}\n`);
    }
  }
}

/** `--wait`: the task's output as it runs, then its end; returns the exit code the command ends with. */
export async function waitForEnd(client: SupervisorClient, task: Task, options: { json?: boolean }): Promise<number> {
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());
  const fanOut = task.spec!.placement === Placement.PLACEMENT_EACH_MATCHING_RUNNER;
  // A fan-out parent has no run (no output to follow): its end is waited for, then its children shown.
  const done = fanOut
    ? await client.waitFor(task.id, { signal: interrupt.signal }).catch(() => client.get(task.id))
    : await followToTheEnd(client, task, interrupt.signal);
  if (interrupt.signal.aborted && isActive(done)) {
    // Ctrl-C stops the waiting, not the task: say so, and how to stop it too.
    process.stderr.write(
      `\nsupervisor: stopped waiting; task ${done.id} is still ${phaseName(done.status!.phase)} ` +
        `(cancel it with \`supervisor cancel ${done.id}\`)\n`,
    );
    return EXIT.INTERRUPTED;
  }
  if (fanOut && !options.json) await printChildrenOutput(client, done);
  if (options.json) process.stdout.write(`${json.task(done)}\n`);
  else if (fanOut) {
    const message = done.status!.message ? `: ${done.status!.message}` : "";
    process.stderr.write(`task ${done.id} ${phaseName(done.status!.phase)}${message}\n`);
  } else if (done.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED) {
    const message = done.status!.message ? `: ${done.status!.message}` : "";
    process.stderr.write(`task ${done.id} ${phaseName(done.status!.phase)}${message}\n`);
  }
  return exitCodeOf(done);
}

/** What `submit` and `rerun` do with the task they made: print its id (or JSON), or with `--wait` follow it. */
export async function answerTask(
  client: SupervisorClient,
  task: Task,
  options: { json?: boolean; wait?: boolean },
): Promise<number> {
  if (options.wait) return waitForEnd(client, task, options);
  process.stdout.write(options.json ? `${json.task(task)}\n` : `${task.id}\n`);
  return EXIT.OK;
}
