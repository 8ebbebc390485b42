import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { SupervisorClient, subprocess } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { startCli, stopChild } from "./helpers/cli.js";
import { holdWriteLock } from "./helpers/hold-write-lock.js";
import { tempDir } from "./helpers/server.js";

const READY = /supervisor serving on (\S+)/;

describe("the SQLite writer thread", () => {
  it("`supervisor serve` (the built package) commits on its writer thread: reads answer while a commit waits", async () => {
    const dir = tempDir("supervisor-writer-");
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, "writer.db");
    const server = await startCli(["serve", "--listen", "127.0.0.1:0", "--db", db], READY);
    onTestFinished(async () => {
      await stopChild(server.child, "SIGKILL");
    });
    const client = new SupervisorClient({
      address: server.match[1]!,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
    });
    onTestFinished(() => client.close());
    const first = await client.submit(subprocess("echo", ["first"])); // committed by the thread (FULL)

    // Another connection holds the write lock: the next commit waits for it (up to its 5 s busy timeout).
    const lock = holdWriteLock(db);
    onTestFinished(() => lock.release());
    let settled = false;
    const second = client.submit(subprocess("echo", ["second"]));
    const outcome = second.then(
      () => "committed",
      (error: unknown) => String(error),
    );
    void outcome.finally(() => (settled = true));
    // A commit on the event loop would stall these reads until it gave up; the writer thread's does not.
    for (let i = 0; i < 10; i++) expect((await client.get(first.id)).id).toBe(first.id);
    expect(settled).toBe(false);
    lock.release();
    expect(await outcome).toBe("committed");
    expect((await client.get((await second).id)).spec?.exec).toEqual(subprocess("echo", ["second"]).exec);

    // A clean stop lets the thread finish, checkpoint (TRUNCATE) and close: the WAL is folded in.
    expect(await stopChild(server.child)).toBe(0);
    expect(existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0).toBe(0);
  });
});
