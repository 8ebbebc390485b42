import type { DispatchPause } from "@supervisor/sdk";
import { type DispatchPauseRow, pauseValues } from "../../pause-rows.js";
import { type Queryable, row, rows } from "../statement.js";

// Each write is one statement and says by RETURNING whether it applied.

const INSERT = `INSERT INTO dispatch_pauses (id, target_kind, target, note, create_ms)
  VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

export const insertDispatchPause = async (db: Queryable, pause: DispatchPause): Promise<boolean> =>
  (await rows(db, INSERT, pauseValues(pause))).length > 0;

export const deleteDispatchPause = async (db: Queryable, id: string): Promise<boolean> =>
  (await rows(db, "DELETE FROM dispatch_pauses WHERE id = $1 RETURNING id", [id])).length > 0;

export const getDispatchPause = (db: Queryable, id: string) =>
  row<DispatchPauseRow>(db, "SELECT * FROM dispatch_pauses WHERE id = $1", [id]);

export const listDispatchPauses = (db: Queryable) =>
  rows<DispatchPauseRow>(db, "SELECT * FROM dispatch_pauses ORDER BY id");

export const countDispatchPauses = async (db: Queryable): Promise<number> =>
  Number((await row<{ n: string }>(db, "SELECT count(*) AS n FROM dispatch_pauses"))?.n ?? 0);
