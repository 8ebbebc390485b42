import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { SupervisorClient, subprocess } from "@supervisor/sdk";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { loadConfig } from "../server/src/config.js";
import { silentLogger } from "../server/src/log.js";
import { startServer } from "../server/src/server.js";
import { DatabaseOpenError } from "../server/src/store/open-error.js";
import { describeOn } from "./helpers/backend.js";
import { runCli } from "./helpers/cli.js";
import { freshDatabase, runSql, type TestDatabase } from "./helpers/postgres.js";
import { startTestServer, tempDir } from "./helpers/server.js";

/** The schema versions this server knows: one per migration file (both folders hold the same numbers). */
const KNOWN_VERSIONS = readdirSync(new URL("../server/migrations/sqlite/", import.meta.url)).filter((f) =>
  /^\d{4}_.*\.sql$/.test(f),
).length;

const MOVE_ASIDE =
  "restore it from a backup, or move it aside (with its -wal and -shm files) to start with an empty one";

// The sqlite project only: SQLite files damaged byte by byte. The PostgreSQL counterparts are below.
describeOn("sqlite")("SQLite files", () => {
  /** A database the server wrote and shut down cleanly (its WAL folded in), a few hundred pages long. */
  let realDatabase: string;
  beforeAll(async () => {
    const server = await startTestServer();
    const client = new SupervisorClient({ address: server.address });
    for (let batch = 0; batch < 5; batch++) {
      const specs = Array.from({ length: 100 }, (_, i) =>
        subprocess("echo", [`task ${batch}-${i} `.repeat(20)], { labels: { batch: String(batch) } }),
      );
      await client.submitBatch(specs);
    }
    client.close();
    await server.server.shutdown();
    realDatabase = join(tempDir(), "real.db");
    copyFileSync(server.db, realDatabase);
    await server.close();
  });

  const pageSize = (path: string) => readFileSync(path).readUInt16BE(16);

  /** Each way a file can be unusable, made at `path`, with the words the refusal must use. */
  const CASES: { name: string; make: (path: string) => void; says: string }[] = [
    {
      name: "a file of random bytes",
      make: (path) => writeFileSync(path, randomBytes(64 * 1024)),
      says: `is not a SQLite database (file is not a database): ${MOVE_ASIDE}`,
    },
    {
      name: "a database truncated to half its size",
      make: (path) => {
        copyFileSync(realDatabase, path);
        truncateSync(path, Math.floor(statSync(path).size / pageSize(path) / 2) * pageSize(path));
      },
      says: `is damaged (database disk image is malformed): ${MOVE_ASIDE}`,
    },
    {
      name: "a database whose pages in the middle are overwritten",
      make: (path) => {
        copyFileSync(realDatabase, path);
        const page = pageSize(path);
        const pages = statSync(path).size / page;
        expect(pages).toBeGreaterThan(60); // enough b-tree pages that the middle ones are in use
        const fd = openSync(path, "r+");
        const garbage = Buffer.alloc(10 * page, 0xa5);
        writeSync(fd, garbage, 0, garbage.length, Math.floor(pages / 2) * page);
        closeSync(fd);
      },
      says: "is damaged (Tree ",
    },
    {
      name: "a SQLite database of another program",
      make: (path) => {
        const db = new Database(path);
        db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)");
        db.close();
      },
      says: "is not a supervisor database (schema version 0, tables invoices): point --db at another file, or move it aside",
    },
    {
      name: "a database of a newer server",
      make: (path) => {
        copyFileSync(realDatabase, path);
        const db = new Database(path);
        db.pragma("user_version = 99");
        db.close();
      },
      says: `has schema version 99, newer than this server knows (${KNOWN_VERSIONS}): upgrade the server, or point --db at another file`,
    },
  ];

  const digest = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

  describe("start-up on a damaged or foreign database", () => {
    it("the server's own database passes the check", async () => {
      const db = join(tempDir(), "copy.db");
      copyFileSync(realDatabase, db);
      const server = await startServer(
        loadConfig({ flags: { listen: "127.0.0.1:0", db, metricsListen: "off" } }),
        silentLogger,
      );
      await server.shutdown();
    });

    for (const { name, make, says } of CASES) {
      it(`${name}: \`supervisor serve\` exits 1 with one line naming the file, and leaves it as it was`, async () => {
        const db = join(tempDir(), "damaged.db");
        make(db);
        const before = digest(db);
        const result = await runCli(["serve", "--listen", "127.0.0.1:0", "--db", db]);
        expect(result.code).toBe(1);
        expect(result.stdout).toBe("");
        const lines = result.stderr.split("\n");
        expect(lines).toHaveLength(2); // one line and its newline
        expect(lines[0]).toContain(`supervisor: the database ${db} ${says}`);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(digest(db)).toBe(before);
      });
    }

    it("in process, a refused database is a DatabaseOpenError, and the lock is given back", async () => {
      const db = join(tempDir(), "random.db");
      writeFileSync(db, randomBytes(64 * 1024));
      const config = loadConfig({ flags: { listen: "127.0.0.1:0", db, metricsListen: "off" } });
      await expect(startServer(config, silentLogger)).rejects.toThrow(DatabaseOpenError);
      rmSync(db); // the operator moves it aside
      const server = await startServer(config, silentLogger);
      await server.shutdown();
    });
  });
});

/** A database of the test cluster for this test, dropped after it (`migrated: false`: an empty one). */
async function database(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const made = await freshDatabase(options);
  onTestFinished(() => made.drop());
  return made;
}

/** Every table of the database's public schema, with its row count and the schema versions applied. */
async function contents(url: string): Promise<unknown> {
  const tables = await runSql(url, [
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  ]);
  const counted = [];
  for (const { name } of tables) {
    const [row] = await runSql(url, [`SELECT count(*)::int AS n FROM ${name as string}`]);
    counted.push([name, row!.n]);
  }
  const versions = counted.some(([name]) => name === "schema_migrations")
    ? await runSql(url, ["SELECT version FROM schema_migrations ORDER BY 1"])
    : [];
  return { counted, versions };
}

/**
 * The PostgreSQL counterparts of the cases above that a database can have: tables of another program,
 * and a schema newer than this server. (Damaged pages and files are PostgreSQL's own business: it checks
 * and recovers its files itself, and refuses to start on ones it cannot read.)
 */
const PG_CASES: { name: string; make: (db: TestDatabase) => Promise<void>; says: string; migrated: boolean }[] = [
  {
    name: "a PostgreSQL database of another program",
    migrated: false,
    make: (db) =>
      runSql(db.url, [
        "CREATE TABLE invoices (id integer PRIMARY KEY, total real)",
        "INSERT INTO invoices VALUES (1, 9.5)",
      ]).then(() => {}),
    says:
      "is not a supervisor database (schema version 0, tables invoices): " +
      "point --db at another database, or another schema (search_path)",
  },
  {
    name: "a PostgreSQL database of a newer server",
    migrated: true,
    make: (db) =>
      runSql(db.url, ["INSERT INTO schema_migrations (version, name) VALUES (99, '0099_future.sql')"]).then(() => {}),
    says: `has schema version 99, newer than this server knows (${KNOWN_VERSIONS}): upgrade the server, or point --db at another database`,
  },
];

// The postgres project only: a database on the test cluster, not a file.
describeOn("postgres")("start-up on a foreign or newer PostgreSQL database", () => {
  for (const { name, make, says, migrated } of PG_CASES) {
    it(`${name}: \`supervisor serve\` exits 1 with one line naming the database, and leaves it as it was`, async () => {
      const db = await database({ migrated });
      await make(db);
      const before = await contents(db.url);
      const result = await runCli(["serve", "--listen", "127.0.0.1:0", "--db", db.url]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(`supervisor: the database ${db.url} ${says}\n`);
      expect(await contents(db.url)).toEqual(before);
    });
  }

  it("in process, a refused database is a DatabaseOpenError, and the lock is given back", async () => {
    const db = await database({ migrated: false });
    await runSql(db.url, ["CREATE TABLE invoices (id integer PRIMARY KEY)"]);
    const config = loadConfig({ flags: { listen: "127.0.0.1:0", db: db.url, metricsListen: "off" } });
    await expect(startServer(config, silentLogger)).rejects.toThrow(DatabaseOpenError);
    await runSql(db.url, ["DROP TABLE invoices"]); // the operator moves it aside
    const server = await startServer(config, silentLogger);
    await server.shutdown();
  });
});
