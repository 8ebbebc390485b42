import type { Command } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { stopping } from "./filters.js";
import { json, phaseName } from "./format.js";
import { resolveTaskId } from "./task-ids.js";

export function registerCancel(program: Command): void {
  addConnectionOptions(
    program
      .command("cancel")
      .description("cancel a task (a running one is stopped: SIGTERM, then SIGKILL after the grace period)")
      .argument("<task-id>", "the id, or enough of its start to be unique")
      .option("--reason <text>", "why (kept in the task's status)", "canceled from the CLI"),
  ).action(
    action(async (idText: string, options: ConnectionOptions & { reason: string }, self: Command) => {
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
