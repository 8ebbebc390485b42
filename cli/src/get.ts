import type { SupervisorClient, Task } from "@supervisor/sdk";
import type { Command } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { stopping } from "./filters.js";
import {
  CHILD_HEADER,
  childRow,
  describeCommand,
  fanOutText,
  json,
  phaseName,
  RUN_HEADER,
  runRow,
  table,
} from "./format.js";
import { resolveTaskId } from "./task-ids.js";

export function registerGet(program: Command): void {
  addConnectionOptions(
    program
      .command("get")
      .description("show one task and its runs")
      .argument("<task-id>", "the id, or enough of its start to be unique"),
  ).action(
    action(async (idText: string, options: ConnectionOptions, self: Command) => {
      const client = connect(options);
      try {
        const id = await resolveTaskId(client, idText, self);
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
            ...(status.runCounts?.deferred ? [`deferred:  ${deferredText(status.runCounts.deferred)}`] : []),
            `created:   ${task.createTime?.toISOString()}`,
            ...(task.rerunOf ? [`rerun of:  ${task.rerunOf}`] : []),
            ...(task.spec!.notBefore ? [`not before: ${task.spec!.notBefore.toISOString()}`] : []),
            ...(status.nextAttemptTime ? [`next try:  ${status.nextAttemptTime.toISOString()}`] : []),
            ...(status.finishTime ? [`finished:  ${status.finishTime.toISOString()}`] : []),
            ...(task.parentId ? [`parent:    ${task.parentId}`] : []),
            ...(task.spec!.pinnedRunnerId ? [`pinned to: ${task.spec!.pinnedRunnerId}`] : []),
            ...(status.fanOut ? [`fan-out:   ${fanOutText(status.fanOut)}`] : []),
            "",
          ].join("\n"),
        );
        if (status.fanOut) return void process.stdout.write(await childTable(client, task));
        const runs = await client.listRuns(id);
        if (runs.length > 0) process.stdout.write(table(RUN_HEADER, runs.map(runRow)));
        // Links are long: listed under the table, one line per run that has one.
        const linked = runs.filter((run) => run.logUrl);
        if (linked.length > 0)
          process.stdout.write(`\nlogs:\n${linked.map((run) => `  attempt ${run.attempt}: ${run.logUrl}\n`).join("")}`);
      } finally {
        client.close();
      }
    }),
  );
}

/** A fan-out parent's children, one line per runner: phase, exit code and output of its latest run. */
async function childTable(client: SupervisorClient, parent: Task): Promise<string> {
  const children: Task[] = [];
  for await (const child of client.list({ filter: { parentId: parent.id } })) children.push(child);
  const names = new Map((await client.listRunners()).map((runner) => [runner.id, runner.name]));
  const rows = await Promise.all(
    children.map(async (child) => {
      const runs = child.status!.attempt > 0 ? await client.listRuns(child.id) : [];
      return childRow(child, runs.at(-1), names.get(child.spec!.pinnedRunnerId));
    }),
  );
  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return table(CHILD_HEADER, rows);
}

/** Attempts a retry-after deferred: not failures, and not counted against max_attempts. */
const deferredText = (count: number) =>
  `${count} ${count === 1 ? "attempt" : "attempts"} (retry-after: not failures, not counted against max attempts)`;
