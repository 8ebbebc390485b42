import { ExplainTaskResponse, type RunnerFit, TaskPhase, type WaitBlocker } from "@supervisor/sdk";
import { type Command, Option } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { describeCommand, phaseName, table } from "./format.js";
import { protoJson } from "./proto-json.js";
import { resolveTaskId } from "./task-ids.js";

interface ExplainOptions extends ConnectionOptions {
  output: "text" | "json";
}

const RUNNER_FIT_HEADER = ["NAME", "MATCHES", "FAILS", "RUNNING/CAPACITY", "DRAINING"];

const runnerFitRow = (fit: RunnerFit): string[] => [
  fit.name,
  fit.matches ? "yes" : "no",
  fit.failedRequirement || "-",
  `${fit.running}/${fit.capacity}`,
  fit.draining ? "yes" : "no",
];

/** A blocker's message, with the time it lifts when the message does not say it already. */
function blockerText(blocker: WaitBlocker): string {
  const until = blocker.until?.toISOString();
  return until && !blocker.message.includes(until) ? `${blocker.message} (until ${until})` : blocker.message;
}

const indented = (text: string) =>
  text
    .split("\n")
    .map((line) => (line ? `  ${line}` : line))
    .join("\n");

/** `kubectl describe`-like: the task, then what it waits for, then how each runner compares with it. */
export function explanationText({ task, blockers, runners }: ExplainTaskResponse): string {
  const status = task!.status!;
  const lines = [
    `id:        ${task!.id}`,
    `phase:     ${phaseName(status.phase)}`,
    `reason:    ${status.reason || "-"}${status.message ? ` — ${status.message}` : ""}`,
    `command:   ${describeCommand(task!)}`,
  ];
  if (blockers.length > 0) {
    const width = Math.max(...blockers.map((blocker) => blocker.reason.length));
    lines.push("waiting for:", ...blockers.map((b) => `  ${b.reason.padEnd(width)}  ${blockerText(b)}`));
  } else if (status.phase === TaskPhase.TASK_PHASE_PENDING) {
    lines.push("waiting for: nothing (it is about to be dispatched)");
  } else {
    lines.push("waiting for: nothing (it is not pending)");
  }
  if (runners.length === 0) lines.push("runners:   none connected");
  else lines.push("runners:", indented(table(RUNNER_FIT_HEADER, runners.map(runnerFitRow))).trimEnd());
  return `${lines.join("\n")}\n`;
}

export function registerExplain(program: Command): void {
  addConnectionOptions(
    program
      .command("explain")
      .description("why a task is not running: what it waits for, and how each runner compares with it")
      .argument("<task-id>", "the id, or enough of its start to be unique")
      .addOption(
        new Option("-o, --output <format>", "text, or json (as --json)").choices(["text", "json"]).default("text"),
      ),
  ).action(
    action(async (idText: string, options: ExplainOptions, self: Command) => {
      if (options.json && self.getOptionValueSource("output") === "cli" && options.output !== "json")
        usageError(self, `--json and -o ${options.output} ask for two formats: give one`);
      const client = connect(options);
      try {
        const explanation = await client.explain(await resolveTaskId(client, idText, self));
        if (options.json || options.output === "json") {
          const json = protoJson("supervisor.v1.ExplainTaskResponse", ExplainTaskResponse.encode, explanation);
          return void process.stdout.write(`${JSON.stringify(json)}\n`);
        }
        process.stdout.write(explanationText(explanation));
      } finally {
        client.close();
      }
    }),
  );
}
