import type { Command } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { resolveTaskId } from "./task-ids.js";
import { answerTask } from "./wait-for-end.js";

interface RerunOptions extends ConnectionOptions {
  requestId?: string;
  wait?: boolean;
}

export function registerRerun(program: Command): void {
  addConnectionOptions(
    program
      .command("rerun")
      .description("run an ended task again: a new task with its spec (rerun of it); prints the new id")
      .argument("<task-id>", "the id, or enough of its start to be unique")
      .option("--request-id <id>", "idempotency key (default: generated)")
      .option("--wait", "stream the output, wait for the end, exit with the task's exit code"),
  ).action(
    action(async (idText: string, options: RerunOptions, self: Command) => {
      const client = connect(options);
      try {
        const task = await client.rerun(await resolveTaskId(client, idText, self), { requestId: options.requestId });
        return await answerTask(client, task, options);
      } finally {
        client.close();
      }
    }),
  );
}
