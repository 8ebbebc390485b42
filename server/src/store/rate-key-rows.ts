import type { RateKeyRecord } from "./backend.js";

/** A rate_keys row as both backends return it (paused_until_ms as a number or a bigint string). */
export interface RateKeyRow {
  key: string;
  tat_ms: number;
  paused_until_ms: number | string;
  paused_by: string;
}

export const rateKeyOf = (row: RateKeyRow): RateKeyRecord => ({
  key: row.key,
  tatMs: Number(row.tat_ms),
  pausedUntilMs: Number(row.paused_until_ms),
  pausedBy: row.paused_by,
});
