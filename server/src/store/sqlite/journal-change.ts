import type { EventType } from "@supervisor/sdk";
import type { TaskChange } from "../backend.js";
import type { JournalRow } from "./queries/journal.js";
import { decodeTask } from "./queries/task-row.js";

/** A journal row as the change it records. */
export function journalChangeOf(row: JournalRow): TaskChange {
  const task = decodeTask(row.task);
  return {
    revision: row.revision,
    type: row.type as EventType,
    task,
    encoded: row.task,
    previous:
      row.prev_phase === null
        ? undefined
        : {
            id: task.id,
            slot: task.spec?.slot ?? "",
            labels: task.spec?.labels ?? {},
            phase: row.prev_phase,
            runnerId: row.prev_runner_id ?? "",
          },
  };
}
