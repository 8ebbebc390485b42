import { readFileSync } from "node:fs";
import {
  container,
  OutputStream,
  type SupervisorClient,
  signSpec,
  subprocess,
  type Task,
  TaskPhase,
  Trigger,
} from "@supervisor/sdk";
import type { Command } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { addContainerOptions, type ContainerFlags, checkContainerFlags } from "./container-options.js";
import { EXIT } from "./exit.js";
import { json, phaseName } from "./format.js";
import { durationMs, timeOrDuration } from "./parsers.js";
import { splitKeyValue } from "./runner.js";
import { addTaskOptions, checkTaskFlags, type TaskOptions, taskSpecOptions } from "./task-options.js";

interface SubmitOptions extends ConnectionOptions, TaskOptions, ContainerFlags {
  notBefore?: Date;
  delay?: number;
  requestId?: string;
  signKey?: { key: string; path: string };
  wait?: boolean;
}

/**
 * Exit code of `submit --wait`: the program's own code when it has one,
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

/** Flags that contradict each other are refused here, before anything is sent. */
function checkFlags(command: Command, options: SubmitOptions): void {
  checkTaskFlags(command, options);
  checkContainerFlags(command, options);
  if (options.notBefore && options.delay !== undefined)
    usageError(command, "--not-before and --delay both set the start time: give one");
}

export function registerSubmit(program: Command): void {
  addConnectionOptions(
    addContainerOptions(
      addTaskOptions(
        program
          .command("submit")
          .description("submit a task: supervisor submit [options] -- command [args...]")
          .argument("<command>", "program to run (argv, never a shell)")
          .argument("[args...]", "its arguments"),
      ),
    )
      .option(
        "--not-before <time>",
        "start no sooner: an RFC 3339 time, or a duration from now",
        timeOrDuration("ahead"),
      )
      .option("--delay <duration>", "start no sooner than this from now, e.g. 10m", durationMs)
      .option("--request-id <id>", "idempotency key (default: generated)")
      .option("--sign-key <id=file>", "sign the spec with this ed25519 private key (PEM), under key id `id`", (v) =>
        splitKeyValue(v, "--sign-key"),
      )
      .option("--wait", "stream the output, wait for the end, exit with the task's exit code"),
  ).action(
    action(async (command: string, args: string[], options: SubmitOptions, self: Command) => {
      checkFlags(self, options);
      const notBefore =
        options.notBefore ?? (options.delay === undefined ? undefined : new Date(Date.now() + options.delay));
      const specOptions = { ...taskSpecOptions(self, options), notBefore, trigger: Trigger.TRIGGER_CLI };
      const unsigned = options.container
        ? container(options.container, command, args, {
            ...specOptions,
            mounts: options.mount ?? [],
            network: options.network ?? false,
          })
        : subprocess(command, args, specOptions);
      let spec = unsigned;
      if (options.signKey) {
        spec = signSpec(unsigned, options.signKey.key, readFileSync(options.signKey.path, "utf8"));
      }
      const client = connect(options);
      try {
        const task = await client.submit(spec, { requestId: options.requestId });
        if (!options.wait) {
          process.stdout.write(options.json ? `${json.task(task)}\n` : `${task.id}\n`);
          return EXIT.OK;
        }
        const interrupt = new AbortController();
        process.once("SIGINT", () => interrupt.abort());
        const done = await followToTheEnd(client, task, interrupt.signal);
        if (interrupt.signal.aborted && isActive(done)) {
          // Ctrl-C stops the waiting, not the task: say so, and how to stop it too.
          process.stderr.write(
            `\nsupervisor: stopped waiting; task ${done.id} is still ${phaseName(done.status!.phase)} ` +
              `(cancel it with \`supervisor cancel ${done.id}\`)\n`,
          );
          return EXIT.INTERRUPTED;
        }
        if (options.json) process.stdout.write(`${json.task(done)}\n`);
        else if (done.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED) {
          const message = done.status!.message ? `: ${done.status!.message}` : "";
          process.stderr.write(`task ${done.id} ${phaseName(done.status!.phase)}${message}\n`);
        }
        return exitCodeOf(done);
      } finally {
        client.close();
      }
    }),
  );
}
