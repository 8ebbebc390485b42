import type { RunRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

export function getRun(db: Db, id: string): RunRow | undefined {
  return statement(db, "SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
}
