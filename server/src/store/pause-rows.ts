import type { DispatchPause } from "@supervisor/sdk";

/** A dispatch_pauses row as both backends return it (create_ms as a number or a bigint string). */
export interface DispatchPauseRow {
  id: string;
  target_kind: string;
  target: string;
  note: string;
  create_ms: number | string;
}

/** The row's values in column order: id, target_kind, target, note, create_ms. */
export function pauseValues(pause: DispatchPause): [string, string, string, string, number] {
  const target = pause.target;
  const kind =
    target?.$case === "slot" ? "slot" : target?.$case === "concurrencyKey" ? "concurrency_key" : "label_selector";
  return [pause.id, kind, target?.value ?? "", pause.note, pause.createTime?.getTime() ?? 0];
}

export function pauseOf(row: DispatchPauseRow): DispatchPause {
  const target: DispatchPause["target"] =
    row.target_kind === "slot"
      ? { $case: "slot", value: row.target }
      : row.target_kind === "concurrency_key"
        ? { $case: "concurrencyKey", value: row.target }
        : { $case: "labelSelector", value: row.target };
  return { id: row.id, target, note: row.note, createTime: new Date(Number(row.create_ms)) };
}
