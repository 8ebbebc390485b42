import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, inject, it, onTestFinished } from "vitest";
import { freshDatabase } from "./postgres.js";

/** The storage backends the suite runs on, one vitest project each (vitest.config.ts). */
export type BackendName = "sqlite" | "postgres";

declare module "vitest" {
  export interface ProvidedContext {
    /** The backend of the running project: every server a test starts stores its data there. */
    backend: BackendName;
  }
}

/** The backend of the running project. */
export const BACKEND: BackendName = inject("backend");

/**
 * `describe`/`it` that run only in one backend's project. Every use says, beside it, why the test
 * cannot hold on the other backend (a SQLite file, its WAL, a tmpfs under it…); the other project
 * reports it as skipped.
 */
export const describeOn = (backend: BackendName) => describe.skipIf(BACKEND !== backend);
export const itOn = (backend: BackendName) => it.skipIf(BACKEND !== backend);

/** What a server stores its data in: its --db, and how to get rid of it. */
export interface TestStore {
  /** The --db value: a SQLite file path, or a postgres:// URL. */
  db: string;
  /** Removes it (drops the PostgreSQL database, ending any session still on it). Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * A fresh store for one server (and its restarts) in the running project's backend: the SQLite file
 * `file` in `dir`, or a new PostgreSQL database copied from the migrated template (test/setup/postgres.ts).
 * Dropping a SQLite store removes the file and its -wal/-shm; the caller's `dir` is its own.
 */
export async function newStore(dir: string, file = "supervisor.db"): Promise<TestStore> {
  if (BACKEND === "postgres") {
    const database = await freshDatabase();
    let dropped: Promise<void> | undefined;
    return { db: database.url, drop: () => (dropped ??= database.drop()) };
  }
  const db = join(dir, file);
  return {
    db,
    async drop() {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${db}${suffix}`, { force: true });
    },
  };
}

/** `newStore`, dropped once the running test is over: the --db value for a test's servers. */
export async function storeForTest(dir: string, file = "supervisor.db"): Promise<string> {
  const store = await newStore(dir, file);
  onTestFinished(() => store.drop());
  return store.db;
}
