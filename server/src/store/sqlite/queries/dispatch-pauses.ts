import type { DispatchPauseRow } from "../../pause-rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** A new pause; an id already taken changes nothing (the caller is told by the count of changed rows). */
export const INSERT_DISPATCH_PAUSE = `INSERT INTO dispatch_pauses (id, target_kind, target, note, create_ms)
  VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`;

export const DELETE_DISPATCH_PAUSE = "DELETE FROM dispatch_pauses WHERE id = ?";

export const getDispatchPause = (db: Db, id: string): DispatchPauseRow | undefined =>
  statement(db, "SELECT * FROM dispatch_pauses WHERE id = ?").get(id) as DispatchPauseRow | undefined;

export const listDispatchPauses = (db: Db): DispatchPauseRow[] =>
  statement(db, "SELECT * FROM dispatch_pauses ORDER BY id").all() as DispatchPauseRow[];

export const countDispatchPauses = (db: Db): number =>
  (statement(db, "SELECT count(*) AS n FROM dispatch_pauses").get() as { n: number }).n;
