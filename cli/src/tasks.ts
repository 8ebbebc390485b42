import { EventType, eventTypeToJSON, type Task, type TaskFilter, TaskPhase, taskPhaseFromJSON } from "@supervisor/sdk";
import type { Command } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, connect, EXIT } from "./connection.js";
import { describeCommand, json, phaseName, RUN_HEADER, runRow, TASK_HEADER, table, taskRow } from "./format.js";

interface FilterOptions extends ConnectionOptions {
  selector?: string;
  phase?: string;
  slot?: string;
}

/** --phase pending,running → [TASK_PHASE_PENDING, TASK_PHASE_RUNNING]. */
export function phasesFrom(text: string | undefined): TaskPhase[] {
  if (!text) return [];
  return text.split(",").map((name) => {
    const phase = taskPhaseFromJSON(`TASK_PHASE_${name.trim().toUpperCase()}`);
    if (phase === TaskPhase.UNRECOGNIZED || phase === TaskPhase.TASK_PHASE_UNSPECIFIED)
      throw new Error(`unknown phase ${JSON.stringify(name)}`);
    return phase;
  });
}

/** A running task whose cancel was requested and sent: it is stopping. */
const stopping = (task: Task) => task.status!.cancelRequested && task.status!.phase === TaskPhase.TASK_PHASE_RUNNING;

const filterFrom = (options: FilterOptions): Partial<TaskFilter> => ({
  labelSelector: options.selector ?? "",
  phases: phasesFrom(options.phase),
  slot: options.slot ?? "",
});

const withFilter = (command: Command) =>
  command
    .option("--selector <selector>", 'label selector, e.g. "env=prod,tier!=db"')
    .option("--phase <phases>", "comma-separated phases, e.g. pending,running")
    .option("--slot <slot>", "only this slot");

export function registerTaskCommands(program: Command): void {
  addConnectionOptions(program.command("get").description("show one task and its runs").argument("<task-id>")).action(
    action(async (id: string, options: ConnectionOptions) => {
      const client = connect(options);
      try {
        const task = await client.get(id);
        if (options.json) return void process.stdout.write(`${json.task(task)}\n`);
        const status = task.status!;
        process.stdout.write(
          [
            `id:        ${task.id}`,
            `phase:     ${phaseName(status.phase)}${stopping(task) ? " (cancel requested)" : ""}`,
            `reason:    ${status.reason}${status.message ? ` — ${status.message}` : ""}`,
            `command:   ${describeCommand(task)}`,
            `slot:      ${task.spec!.slot || "-"}`,
            `attempt:   ${status.attempt}${status.exitCode !== undefined ? ` (exit code ${status.exitCode})` : ""}`,
            `created:   ${task.createTime?.toISOString()}`,
            ...(status.nextAttemptTime ? [`next try:  ${status.nextAttemptTime.toISOString()}`] : []),
            ...(status.finishTime ? [`finished:  ${status.finishTime.toISOString()}`] : []),
            "",
          ].join("\n"),
        );
        const runs = await client.listRuns(id);
        if (runs.length > 0) process.stdout.write(table(RUN_HEADER, runs.map(runRow)));
      } finally {
        client.close();
      }
    }),
  );

  addConnectionOptions(
    withFilter(program.command("list").description("list tasks, newest first"))
      .option("--limit <n>", "tasks per page", "50")
      .option("--page-token <token>", "continue from a previous page")
      .option("--all", "every page, not just the first"),
  ).action(
    action(async (options: FilterOptions & { limit: string; pageToken?: string; all?: boolean }) => {
      const client = connect(options);
      try {
        const filter = filterFrom(options);
        const pageSize = Number(options.limit);
        const tasks = [];
        let pageToken = options.pageToken ?? "";
        do {
          const page = await client.listPage({ filter, pageSize, pageToken });
          tasks.push(...page.tasks);
          pageToken = page.nextPageToken;
        } while (options.all && pageToken);
        if (options.json) for (const task of tasks) process.stdout.write(`${json.task(task)}\n`);
        else {
          process.stdout.write(
            table(
              TASK_HEADER,
              tasks.map((t) => taskRow(t)),
            ),
          );
          if (pageToken) process.stderr.write(`more: --page-token ${pageToken} (or --all)\n`);
        }
      } finally {
        client.close();
      }
    }),
  );

  addConnectionOptions(
    withFilter(program.command("watch").description("stream task changes (resumes by itself if the connection drops)"))
      .option("--since <revision>", "start after this revision (default: now)")
      .option("--initial", "first list every matching task"),
  ).action(
    action(async (options: FilterOptions & { since?: string; initial?: boolean }) => {
      const client = connect(options);
      const interrupt = new AbortController();
      process.once("SIGINT", () => interrupt.abort());
      try {
        for await (const event of client.watch({
          filter: filterFrom(options),
          sinceRevision: Number(options.since ?? 0),
          sendInitial: options.initial,
          signal: interrupt.signal,
        })) {
          if (event.type === EventType.EVENT_TYPE_BOOKMARK) continue;
          const task = event.task!;
          if (options.json) process.stdout.write(`${json.event(event)}\n`);
          else
            process.stdout.write(
              [
                String(event.revision).padStart(6),
                eventTypeToJSON(event.type).replace("EVENT_TYPE_", "").padEnd(8),
                task.id,
                phaseName(task.status!.phase),
                `${task.status!.reason}\n`,
              ].join("  "),
            );
        }
        return EXIT.OK;
      } finally {
        client.close();
      }
    }),
  );

  addConnectionOptions(
    program.command("cancel").description("cancel a task").argument("<task-id>").option("--reason <text>", "why"),
  ).action(
    action(async (id: string, options: ConnectionOptions & { reason?: string }) => {
      const client = connect(options);
      try {
        const task = await client.cancel(id, options.reason ?? "canceled from the CLI");
        if (options.json) process.stdout.write(`${json.task(task)}\n`);
        else
          process.stdout.write(`${task.id} ${phaseName(task.status!.phase)}${stopping(task) ? " (stopping)" : ""}\n`);
      } finally {
        client.close();
      }
    }),
  );

  addConnectionOptions(
    program
      .command("logs")
      .description("print a task's output (stdout to stdout, stderr to stderr)")
      .argument("<task-id>")
      .option("-f, --follow", "keep printing until the run ends")
      .option("--attempt <n>", "attempt number (default: the latest)", "0"),
  ).action(
    action(async (id: string, options: ConnectionOptions & { follow?: boolean; attempt: string }) => {
      const client = connect(options);
      const interrupt = new AbortController();
      process.once("SIGINT", () => interrupt.abort());
      try {
        for await (const event of client.output(id, {
          attempt: Number(options.attempt),
          follow: options.follow,
          signal: interrupt.signal,
        })) {
          const body = event.event;
          if (body?.$case === "chunk")
            (body.value.stream === 2 ? process.stderr : process.stdout).write(body.value.data);
          else if (body?.$case === "truncated")
            process.stderr.write(`\n[… ${body.value.droppedBytes} bytes dropped by the output cap …]\n`);
        }
      } finally {
        client.close();
      }
    }),
  );
}
