import { CancelTasksResponse } from "@supervisor/sdk";
import type { Command } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { type FilterOptions, filterFrom, stopping, withFilter } from "./filters.js";
import { json, phaseName } from "./format.js";
import { protoJson } from "./proto-json.js";
import { resolveTaskId } from "./task-ids.js";

interface CancelOptions extends FilterOptions, ConnectionOptions {
  reason: string;
  all?: boolean;
  dryRun?: boolean;
  yes?: boolean;
}

const plural = (n: number) => `${n} task${n === 1 ? "" : "s"}`;

/**
 * `cancel -l …` / `--slot` / `--phase` / `--all`: CancelTasks. Many tasks at once is not undone, and CI has
 * nobody to answer a prompt, so a real bulk cancel is asked for with --yes (--dry-run shows what it would hit).
 */
async function cancelMany(options: CancelOptions, self: Command): Promise<void> {
  if (!options.dryRun && !options.yes)
    usageError(self, "a bulk cancel needs --yes to go ahead (or --dry-run to see which tasks it would cancel)");
  const client = connect(options);
  try {
    const answer = await client.cancelTasks(filterFrom(options), {
      reason: options.reason,
      dryRun: options.dryRun ?? false,
      all: options.all ?? false,
    });
    if (options.json) {
      const encoded = protoJson("supervisor.v1.CancelTasksResponse", CancelTasksResponse.encode, answer);
      process.stdout.write(`${JSON.stringify(encoded)}\n`);
      return;
    }
    for (const id of answer.taskIds) process.stdout.write(`${id}\n`);
    const affected = options.dryRun ? answer.matched : answer.canceled;
    const listed = answer.taskIds.length < affected ? ` (the first ${answer.taskIds.length} listed)` : "";
    process.stdout.write(
      options.dryRun
        ? `would cancel ${plural(answer.matched)}${listed} (dry run: nothing changed)\n`
        : `canceled ${plural(answer.canceled)}${listed}; running ones stop as their runners end them\n`,
    );
  } finally {
    client.close();
  }
}

export function registerCancel(program: Command): void {
  addConnectionOptions(
    withFilter(
      program
        .command("cancel")
        .description(
          "cancel a task (a running one is stopped: SIGTERM, then SIGKILL after the grace period), " +
            "or with a filter every active task it matches",
        )
        .argument("[task-id]", "the id, or enough of its start to be unique"),
    )
      .option("--all", "with no filter: every active task")
      .option("--dry-run", "with a filter: count and list the tasks it would cancel, change nothing")
      .option("--yes", "with a filter: go ahead (a bulk cancel is not undone)")
      .option("--reason <text>", "why (kept in the task's status)", "canceled from the CLI"),
  ).action(
    action(async (idText: string | undefined, options: CancelOptions, self: Command) => {
      const bulk = options.selector !== undefined || options.phase !== undefined || options.slot !== undefined;
      if (idText !== undefined && (bulk || options.all))
        usageError(self, "give a task id or a filter (-l, --phase, --slot, --all), not both");
      if (bulk || options.all) {
        await cancelMany(options, self);
        return;
      }
      if (idText === undefined)
        usageError(self, "give a task id, or a filter (-l, --phase, --slot, --all) to cancel every task it matches");
      if (options.dryRun || options.yes) usageError(self, "--dry-run and --yes go with a filter, not a task id");
      const client = connect(options);
      try {
        const task = await client.cancel(await resolveTaskId(client, idText, self), options.reason);
        if (options.json) process.stdout.write(`${json.task(task)}\n`);
        else
          process.stdout.write(`${task.id} ${phaseName(task.status!.phase)}${stopping(task) ? " (stopping)" : ""}\n`);
      } finally {
        client.close();
      }
    }),
  );
}
