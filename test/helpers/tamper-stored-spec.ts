import { Task, type TaskSpec } from "@supervisor/sdk";
import Database from "better-sqlite3";
import pg from "pg";

/**
 * What someone with write access to the database does: changes a stored task's spec behind the live
 * server's back (keeping its signature), so a test can show the runner verifies it again. This is
 * about the database itself, so it writes the row with SQL, on either backend (the tasks table and
 * its protobuf `task` column are the same in both); it is the one helper that may
 * (scripts/check-imports.mjs).
 */
export async function tamperStoredSpec(db: string, id: string, tamper: (spec: TaskSpec) => void): Promise<void> {
  const tampered = (stored: Buffer) => {
    const task = Task.decode(stored);
    tamper(task.spec!);
    return Buffer.from(Task.encode(task).finish());
  };
  if (/^postgres(ql)?:\/\//.test(db)) {
    const client = new pg.Client({ connectionString: db });
    await client.connect();
    try {
      const { rows } = await client.query<{ task: Buffer }>("SELECT task FROM tasks WHERE id = $1", [id]);
      await client.query("UPDATE tasks SET task = $1 WHERE id = $2", [tampered(rows[0]!.task), id]);
    } finally {
      await client.end();
    }
    return;
  }
  const file = new Database(db);
  try {
    const row = file.prepare("SELECT task FROM tasks WHERE id = ?").get(id) as { task: Buffer };
    file.prepare("UPDATE tasks SET task = ? WHERE id = ?").run(tampered(row.task), id);
  } finally {
    file.close();
  }
}
