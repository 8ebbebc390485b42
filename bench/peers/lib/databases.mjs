// A fresh database per scenario on the shared PostgreSQL cluster, so every scenario of every round
// starts from an empty store (as Supervisor gets a fresh SQLite file and BullMQ a fresh Redis).
import pg from "pg";

let sequence = 0;

/** Creates the database (after a CHECKPOINT) and a one-connection client for the harness's own checks. */
export async function freshDatabase(postgres, prefix) {
  const name = `${prefix}_${process.pid}_${++sequence}`;
  postgres.checkpoint();
  postgres.createDatabase(name);
  const url = postgres.url(name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    /** The first column of the first row of `sql`. */
    async scalar(sql, params = []) {
      const { rows } = await client.query(sql, params);
      return rows.length ? Object.values(rows[0])[0] : undefined;
    },
    async drop() {
      await client.end().catch(() => {});
      postgres.dropDatabase(name);
    },
  };
}
