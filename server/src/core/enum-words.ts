import { TaskPhase } from "@supervisor/sdk";

/** An enum's value as its word without the prefix ("SUCCEEDED", "SCHEDULE"), for labels and JSON keys. */
export const enumWord = (names: Record<number, string>, prefix: string) => (value: number) =>
  (names[value] ?? `${prefix}UNSPECIFIED`).slice(prefix.length);

/** A task phase's word: "SUCCEEDED", "PENDING", … */
export const phaseWord = enumWord(TaskPhase, "TASK_PHASE_");
