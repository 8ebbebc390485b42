import {
  EventType,
  eventTypeToJSON,
  type SupervisorClient,
  type Task,
  type TaskFilter,
  type WatchTasksResponse,
} from "@supervisor/sdk";
import type { Command } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, connect } from "./connection.js";
import { EXIT } from "./exit.js";
import { type FilterOptions, filterFrom, withFilter } from "./filters.js";
import { json, LiveTable, phaseName } from "./format.js";
import { integer } from "./parsers.js";

/** Ctrl-C ends a watch: an AbortSignal for the stream, and the exit code to end with. */
export function interruptible(): AbortSignal {
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());
  return interrupt.signal;
}

/**
 * Prints changes from `sinceRevision` on until Ctrl-C: JSON lines, or a row
 * each through `row`. The SDK resumes a dropped stream from the last revision.
 */
export async function printChanges(
  client: SupervisorClient,
  request: { filter: Partial<TaskFilter>; sinceRevision: number; sendInitial?: boolean },
  output: { json: boolean; row: (event: WatchTasksResponse, task: Task) => void },
  signal: AbortSignal,
): Promise<number> {
  for await (const event of client.watch({ ...request, signal })) {
    if (event.type === EventType.EVENT_TYPE_BOOKMARK || !event.task) continue;
    if (output.json) process.stdout.write(`${json.event(event)}\n`);
    else output.row(event, event.task);
  }
  return signal.aborted ? EXIT.INTERRUPTED : EXIT.OK;
}

const WATCH_HEADER = ["REVISION", "EVENT", "ID", "PHASE", "REASON"];

export function registerWatch(program: Command): void {
  addConnectionOptions(
    withFilter(program.command("watch").description("stream task changes (resumes by itself if the connection drops)"))
      .option("--since <revision>", "start after this revision (default: now)", integer(0, Number.MAX_SAFE_INTEGER))
      .option("--initial", "first list every matching task (as ADDED events)"),
  ).action(
    action(async (options: FilterOptions & { since?: number; initial?: boolean }, self: Command) => {
      if (options.since !== undefined && options.initial)
        usageError(self, "--initial starts from the current tasks, --since from a revision: give one");
      const client = connect(options);
      const signal = interruptible();
      try {
        const filter = filterFrom(options);
        // One small list first: an unreachable supervisor or a bad filter fails now instead of being retried
        // for ever, and its revision is "now" for a watch that says nothing else.
        const probe = await client.listPage({ filter, pageSize: 1 });
        const table = options.json ? undefined : new LiveTable(WATCH_HEADER);
        return await printChanges(
          client,
          { filter, sinceRevision: options.since ?? probe.revision, sendInitial: options.initial },
          {
            json: options.json === true,
            row: (event, task) =>
              table!.row([
                String(event.revision),
                eventTypeToJSON(event.type).replace("EVENT_TYPE_", ""),
                task.id,
                phaseName(task.status!.phase),
                task.status!.reason,
              ]),
          },
          signal,
        );
      } finally {
        client.close();
      }
    }),
  );
}
