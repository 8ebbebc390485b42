import { describe } from "vitest";
import type { OpenBackend } from "./fixtures.js";
import { journalPropertyTests } from "./journal-property.js";
import { listTaskTests } from "./list-tasks.js";
import { maintenanceTests } from "./maintenance.js";
import { rateKeyTests } from "./rate-keys.js";
import { revisionTests } from "./revisions.js";
import { runnerAndKeyTests } from "./runners-and-keys.js";
import { runAndOutputTests } from "./runs-and-output.js";
import { scheduleTests } from "./schedules.js";
import { snapshotReadTests } from "./snapshot-reads.js";
import { taskRowTests } from "./task-rows.js";

export type { OpenBackend } from "./fixtures.js";

/**
 * The StorageBackend contract (server/src/store/backend.ts) as tests, called
 * directly — no server, no gRPC — the way River's riverdrivertest holds every
 * driver to one suite. Every backend runs it from its own file (sqlite.test.ts)
 * with an `open` that gives a fresh, empty backend each time. Nothing here may
 * know which backend it is: what only one backend promises (its file, its
 * lock) is tested in that backend's file.
 */
export function describeBackend(name: string, open: OpenBackend): void {
  describe(`storage backend conformance: ${name}`, () => {
    describe("revisions, commits and failures", () => revisionTests(open));
    describe("tx.read", () => snapshotReadTests(open));
    describe("task rows and the journal", () => taskRowTests(open));
    describe("listTasks", () => listTaskTests(open));
    describe("runs and output", () => runAndOutputTests(open));
    describe("runners and idempotency keys", () => runnerAndKeyTests(open));
    describe("maintenance and start-up reads", () => maintenanceTests(open));
    describe("schedules", () => scheduleTests(open));
    describe("rate-limit keys", () => rateKeyTests(open));
    describe("the journal, over random transactions", () => journalPropertyTests(open));
  });
}
