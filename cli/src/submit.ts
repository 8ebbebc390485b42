import { readFileSync } from "node:fs";
import { container, embedded, signSpec, subprocess, Trigger } from "@supervisor/sdk";
import type { Command } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { addContainerOptions, type ContainerFlags, checkContainerFlags } from "./container-options.js";
import { durationMs, timeOrDuration } from "./parsers.js";
import { splitKeyValue } from "./runner.js";
import { jsonObject } from "./schedule-options.js";
import { addTaskOptions, checkTaskFlags, type TaskOptions, taskSpecOptions } from "./task-options.js";
import { answerTask } from "./wait-for-end.js";

interface SubmitOptions extends ConnectionOptions, TaskOptions, ContainerFlags {
  notBefore?: Date;
  delay?: number;
  requestId?: string;
  signKey?: { key: string; path: string };
  wait?: boolean;
  embedded?: string;
  payload?: Record<string, unknown>;
}

/** Flags that contradict each other are refused here, before anything is sent. */
function checkFlags(command: Command, program: string | undefined, options: SubmitOptions): void {
  checkTaskFlags(command, options);
  if (options.embedded === undefined && program === undefined)
    usageError(command, "give the program to run (-- command [args...]), or --embedded <handler>");
  if (options.embedded !== undefined && program !== undefined)
    usageError(command, "--embedded runs a handler, not a program: leave out the command");
  if (options.embedded !== undefined && options.container)
    usageError(command, "--embedded and --container are two kinds of task: give one");
  if (options.payload && options.embedded === undefined) usageError(command, "--payload goes with --embedded");
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
          .description(
            "submit a task: supervisor submit [options] -- command [args...], or --embedded <handler> [--payload json]",
          )
          .argument("[command]", "program to run (argv, never a shell)")
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
      .option("--wait", "stream the output, wait for the end, exit with the task's exit code")
      .option("--embedded <handler>", "call this handler in a runner process that registered it (any SDK's)")
      .option("--payload <json>", "the embedded handler's payload (a JSON object)", jsonObject),
  ).action(
    action(async (command: string | undefined, args: string[], options: SubmitOptions, self: Command) => {
      checkFlags(self, command, options);
      const notBefore =
        options.notBefore ?? (options.delay === undefined ? undefined : new Date(Date.now() + options.delay));
      const specOptions = { ...taskSpecOptions(self, options), notBefore, trigger: Trigger.TRIGGER_CLI };
      const unsigned =
        options.embedded !== undefined
          ? embedded(options.embedded, options.payload ?? {}, specOptions)
          : options.container
            ? container(options.container, command!, args, {
                ...specOptions,
                mounts: options.mount ?? [],
                network: options.network ?? false,
              })
            : subprocess(command!, args, specOptions);
      let spec = unsigned;
      if (options.signKey) {
        spec = signSpec(unsigned, options.signKey.key, readFileSync(options.signKey.path, "utf8"));
      }
      const client = connect(options);
      try {
        const task = await client.submit(spec, { requestId: options.requestId });
        return await answerTask(client, task, options);
      } finally {
        client.close();
      }
    }),
  );
}
