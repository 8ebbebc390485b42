import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { tempDir } from "./helpers/server.js";

const SCRIPT = new URL("../scripts/check-imports.mjs", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;

function check(root: string): { code: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, root], { encoding: "utf8" });
  return { code: result.status, stderr: result.stderr };
}

/** A tree of source files laid out like the repository, for the check to scan. */
function fixture(files: Record<string, string>): string {
  const root = tempDir("check-imports-");
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** The lines the check reported about files (its notes on stale exceptions left out). */
const reportedFiles = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => /^[\w/.-]+:\d+: /.test(line))
    .map((line) => line.slice(0, line.indexOf(": ")));

describe("scripts/check-imports.mjs: only the backend touches its database", () => {
  it("the repository passes", () => {
    const { code, stderr } = check(REPO);
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("an import of the SQLite backend from outside its folder fails, naming the file and line", () => {
    const root = fixture({
      "server/src/server.ts":
        'import { x } from "./a.js";\nimport { SqliteBackend } from "./store/sqlite/backend.js";\n',
      "server/src/store/group-commit.ts": 'export * from "./sqlite/queries/get-task.js";\n',
      "test/x.test.ts": 'const lock = await import("../server/src/store/sqlite/lock.js");\n',
      "bench/serve.mjs": 'import { openDatabase } from "../server/dist/store/sqlite/open.js";\n',
    });
    const { code, stderr } = check(root);
    expect(code).toBe(1);
    expect(reportedFiles(stderr).sort()).toEqual([
      "bench/serve.mjs:1",
      "server/src/server.ts:2",
      "server/src/store/group-commit.ts:1",
      "test/x.test.ts:1",
    ]);
  });

  it("the backend itself, open-backend.ts and the conformance tests may import it", () => {
    const root = fixture({
      "server/src/store/sqlite/backend.ts": 'import { openDatabase } from "./open.js";\nimport "../backend.js";\n',
      "server/src/store/open-backend.ts": 'import { SqliteBackend } from "./sqlite/backend.js";\n',
      "test/conformance/sqlite.test.ts": 'import { SqliteBackend } from "../../server/src/store/sqlite/backend.js";\n',
    });
    expect(reportedFiles(check(root).stderr)).toEqual([]);
  });

  it("better-sqlite3 loaded outside server/src/store/ fails, by import, require or createRequire", () => {
    const root = fixture({
      "cli/src/a.ts": 'import Database from "better-sqlite3";\n',
      "sdk/src/b.ts": "\n\nconst Database = require('better-sqlite3');\n",
      "bench/lib/c.mjs":
        'const fromServer = createRequire(url);\nexport const Database = fromServer("better-sqlite3");\n',
      "test/d.test.ts": 'import type { Statement } from "better-sqlite3";\n',
    });
    const { code, stderr } = check(root);
    expect(code).toBe(1);
    expect(reportedFiles(stderr).sort()).toEqual([
      "bench/lib/c.mjs:2",
      "cli/src/a.ts:1",
      "sdk/src/b.ts:3",
      "test/d.test.ts:1",
    ]);
  });

  it("comments and strings that only name better-sqlite3 are not loads; server/src/store/ may load it", () => {
    const root = fixture({
      "server/src/store/sqlite/open.ts": 'import Database from "better-sqlite3";\n',
      "server/src/store/other.ts": 'import type { Database } from "better-sqlite3";\n',
      "test/pack.test.ts":
        '// import Database from "better-sqlite3";\n/* require("better-sqlite3") */\n' +
        'expect(existsSync(join(modules, "better-sqlite3"))).toBe(false);\n',
    });
    expect(reportedFiles(check(root).stderr)).toEqual([]);
  });

  it("the PostgreSQL backend and pg are held to the same rules", () => {
    const root = fixture({
      "server/src/server.ts": 'import { PostgresBackend } from "./store/postgres/backend.js";\n',
      "test/x.test.ts": 'import { migrate } from "../server/src/store/postgres/migrate.js";\n',
      "cli/src/a.ts": 'import pg from "pg";\n',
      "server/src/store/postgres/backend.ts": 'import pg from "pg";\nimport { migrate } from "./migrate.js";\n',
      "server/src/store/open-backend.ts": 'import { PostgresBackend } from "./postgres/backend.js";\n',
      "test/conformance/postgres.test.ts": 'import { x } from "../../server/src/store/postgres/backend.js";\n',
    });
    const { code, stderr } = check(root);
    expect(code).toBe(1);
    expect(reportedFiles(stderr).sort()).toEqual(["cli/src/a.ts:1", "server/src/server.ts:1", "test/x.test.ts:1"]);
    expect(stderr).toContain("inside the postgres backend");
    expect(stderr).toContain("loads pg outside server/src/store/");
  });

  it("an exception that no longer applies fails too", () => {
    const { code, stderr } = check(fixture({ "server/src/index.ts": "export {};\n" }));
    expect(code).toBe(1);
    expect(stderr).toContain("the exception for test/single-writer.test.ts (sqlite) no longer applies");
  });
});
