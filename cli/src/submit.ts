import { readFileSync } from "node:fs";
import {
  AdmissionPolicy,
  duration,
  RestartPolicy,
  runnerSelector,
  type SupervisorClient,
  signSpec,
  subprocess,
  type Task,
  TaskPhase,
  Trigger,
} from "@supervisor/sdk";
import { type Command, Option } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, connect, EXIT } from "./connection.js";
import { json, phaseName } from "./format.js";
import { collectLabel, splitKeyValue } from "./runner.js";

const RESTART = {
  never: RestartPolicy.RESTART_POLICY_NEVER,
  "on-failure": RestartPolicy.RESTART_POLICY_ON_FAILURE,
  always: RestartPolicy.RESTART_POLICY_ALWAYS,
};
const ADMISSION = {
  drop: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
  queue: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
  replace: AdmissionPolicy.ADMISSION_POLICY_REPLACE,
};
interface SubmitOptions extends ConnectionOptions {
  slot?: string;
  label: Record<string, string>;
  selector?: string;
  timeout?: string;
  restart: keyof typeof RESTART;
  maxAttempts?: string;
  admission: keyof typeof ADMISSION;
  priority?: string;
  env: Record<string, string>;
  cwd?: string;
  requestId?: string;
  signKey?: string;
  wait?: boolean;
}

/**
 * Exit code of `submit --wait`: the program's own code when it has one,
 * else by phase (124 = timeout, like timeout(1)).
 */
export function exitCodeOf(task: Task): number {
  const { phase, exitCode } = task.status!;
  if (phase === TaskPhase.TASK_PHASE_SUCCEEDED) return 0;
  if (phase === TaskPhase.TASK_PHASE_TIMEOUT) return 124;
  if (phase === TaskPhase.TASK_PHASE_CANCELED) return EXIT.INTERRUPTED;
  return exitCode !== undefined && exitCode > 0 ? exitCode : EXIT.FAILED;
}

/** Streams each attempt's output as it is printed, until the task ends. */
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
        (body.value.stream === 2 ? process.stderr : process.stdout).write(body.value.data);
      }
    }
    progress("");
    const current = await client.get(task.id, { signal });
    if (
      current.status!.phase !== TaskPhase.TASK_PHASE_PENDING &&
      current.status!.phase !== TaskPhase.TASK_PHASE_RUNNING
    )
      return current;
    if (!started && current.status!.attempt < attempt) attempt--; // the follow ended early; try the same attempt again
  }
  return client.get(task.id);
}

export function registerSubmit(program: Command): void {
  addConnectionOptions(
    program
      .command("submit")
      .description("submit a task: supervisor submit [options] -- command [args...]")
      .argument("<command>", "program to run (argv, never a shell)")
      .argument("[args...]", "its arguments")
      .option("--slot <slot>", "admission slot: at most one active task per slot")
      .addOption(
        new Option("--admission <policy>", "when the slot is busy").choices(Object.keys(ADMISSION)).default("drop"),
      )
      .option("--label <key=value>", "task label (repeatable)", collectLabel, {})
      .option("--selector <selector>", 'runners to use, e.g. "gpu,zone in (a,b)"')
      .option("--timeout <duration>", "per attempt, e.g. 30s, 5m (default 60s)")
      .addOption(new Option("--restart <policy>", "restart policy").choices(Object.keys(RESTART)).default("never"))
      .option("--max-attempts <n>", "attempts in all (default 3 with on-failure)")
      .option("--priority <n>", "higher runs first")
      .option("--env <key=value>", "environment variable for the program (repeatable)", collectLabel, {})
      .option("--cwd <dir>", "working directory on the runner")
      .option("--request-id <id>", "idempotency key (default: generated)")
      .option("--sign-key <id=file>", "sign the spec with this ed25519 private key (PEM), under key id `id`")
      .option("--wait", "stream the output, wait for the end, exit with the task's exit code"),
  ).action(
    action(async (command: string, args: string[], options: SubmitOptions) => {
      const unsigned = subprocess(command, args, {
        env: options.env,
        workingDir: options.cwd ?? "",
        slot: options.slot ?? "",
        admission: ADMISSION[options.admission],
        labels: options.label,
        runnerSelector: options.selector ? runnerSelector(options.selector) : undefined,
        timeout: options.timeout ? duration(options.timeout) : undefined,
        restart: RESTART[options.restart],
        maxAttempts: options.maxAttempts ? Number(options.maxAttempts) : 0,
        priority: options.priority ? Number(options.priority) : 0,
        trigger: Trigger.TRIGGER_CLI,
      });
      let spec = unsigned;
      if (options.signKey) {
        const { key, path } = splitKeyValue(options.signKey, "--sign-key");
        spec = signSpec(unsigned, key, readFileSync(path, "utf8"));
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
        if (options.json) process.stdout.write(`${json.task(done)}\n`);
        else if (done.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED)
          process.stderr.write(`task ${done.id} ${phaseName(done.status!.phase)}: ${done.status!.message}\n`);
        return interrupt.signal.aborted ? EXIT.INTERRUPTED : exitCodeOf(done);
      } finally {
        client.close();
      }
    }),
  );
}
