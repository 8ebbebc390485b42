import { ErrorReason, ID_PREFIX_PATTERN, type SupervisorClient, SupervisorError, UUID_PATTERN } from "@supervisor/sdk";
import type { Command } from "commander";
import { usageError } from "./command-line.js";
import { CommandFailure } from "./exit.js";

/**
 * The task a command line names: a full id as it is (no extra call), or the
 * start of one. UUIDv7 ids begin with their creation time, so tasks made
 * close together share a long prefix: one page of 2 tells a unique prefix
 * from an ambiguous one.
 */
export async function resolveTaskId(client: SupervisorClient, text: string, command: Command): Promise<string> {
  const id = text.trim().toLowerCase();
  if (UUID_PATTERN.test(id)) return id;
  if (!ID_PREFIX_PATTERN.test(id))
    usageError(command, `${JSON.stringify(text)} is not a task id, nor the start of one (hex digits and '-')`);
  const page = await client.listPage({ filter: { idPrefix: id }, pageSize: 2 });
  if (page.tasks.length === 1 && !page.nextPageToken) return page.tasks[0]!.id;
  if (page.tasks.length === 0)
    throw new SupervisorError(5, `no task id starts with ${id}`, ErrorReason.TASK_NOT_FOUND, { id_prefix: id });
  throw new CommandFailure(
    `ambiguous prefix ${id}: ${page.tasks.length}+ tasks match (ids start with their creation time; ` +
      "give more of the id, or all of it)",
  );
}
