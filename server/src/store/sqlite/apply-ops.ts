import type { Statement } from "better-sqlite3";
import type { Db } from "./open.js";
import type { WriteOp, WriteStatement } from "./write-ops.js";

/**
 * Runs a batch's statements in order on `db`, inside the caller's transaction, preparing each statement
 * once (`prepared` is the caller's cache, by index). Self-contained on purpose — no imports at run time,
 * nothing from this module's scope — because the writer thread runs its source text (writer-thread.ts).
 * Returns how many rows each statement changed (a conditional write tells by it whether it applied).
 */
export function applyOps(
  db: Db,
  statements: readonly WriteStatement[],
  prepared: Statement[],
  ops: readonly WriteOp[],
): number[] {
  const changed: number[] = [];
  for (const [index, values] of ops) {
    const statement = (prepared[index] ??= db.prepare(statements[index]!.sql));
    const { changes } = statement.run(values);
    const mustChange = statements[index]!.mustChange;
    if (mustChange && changes === 0) {
      throw new Error(mustChange.message.replace("%s", String(values[mustChange.key])));
    }
    changed.push(changes);
  }
  return changed;
}
