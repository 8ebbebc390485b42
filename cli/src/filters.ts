import type { Task, TaskFilter, TaskPhase } from "@supervisor/sdk";
import { TaskPhase as Phase } from "@supervisor/sdk";
import type { Command } from "commander";
import type { ConnectionOptions } from "./connection.js";
import { phases, selectorText } from "./parsers.js";

export interface FilterOptions extends ConnectionOptions {
  selector?: string;
  phase?: TaskPhase[];
  slot?: string;
  parent?: string;
}

/** -l/--selector, --phase, --slot and --parent: the TaskFilter of list and watch. */
export const withFilter = (command: Command) =>
  command
    .option("-l, --selector <selector>", 'label selector, e.g. "env=prod,tier!=db"', selectorText)
    .option("--phase <phases>", "comma-separated phases, e.g. pending,running", phases)
    .option("--slot <slot>", "only this slot")
    .option("--parent <task-id>", "only the children of this fan-out parent");

export const filterFrom = (options: FilterOptions): Partial<TaskFilter> => ({
  labelSelector: options.selector ?? "",
  phases: options.phase ?? [],
  slot: options.slot ?? "",
  parentId: options.parent ?? "",
});

/** A running task whose cancel was requested and sent: it is stopping. */
export const stopping = (task: Task) => task.status!.cancelRequested && task.status!.phase === Phase.TASK_PHASE_RUNNING;
