#!/usr/bin/env node
// The storage seam (server/src/store/backend.ts) is the one door to storage: only a backend's own
// folder knows its database. Two rules, over server/src, cli/src, sdk/src, bench and test:
//   1. nothing outside server/src/store/sqlite/ imports from it, except server/src/store/open-backend.ts
//      (which picks the backend) and the tests listed in SQLITE_BACKEND_USERS;
//   2. nothing outside server/src/store/ loads better-sqlite3 (import, export from, import(), require(),
//      or the first argument of any call, as createRequire's require takes it), except the files listed
//      in BETTER_SQLITE3_USERS.
// Each exception says why; an exception that no longer applies fails too, so the lists stay short.
// Usage: node scripts/check-imports.mjs [root] (root defaults to the repository; tests pass a fixture).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const root = resolve(process.argv[2] ?? new URL("..", import.meta.url).pathname);
const ROOTS = ["server/src", "cli/src", "sdk/src", "bench", "test"];
const SKIP_DIRS = new Set(["node_modules", "dist", "gen", "results"]);
const SQLITE_DIRS = ["server/src/store/sqlite/", "server/dist/store/sqlite/"];
const STORE_DIR = "server/src/store/";

/** Files (or folders, ending in "/") outside server/src/store/sqlite/ that may import from it. */
const SQLITE_BACKEND_USERS = {
  "server/src/store/open-backend.ts": "picks the backend the configuration names",
  "test/conformance/": "runs the backend conformance suite against SqliteBackend on a real file",
  "test/helpers/engine.ts":
    "the fake-clock engine harness writes on the event loop: its settled turns cannot wait for a writer thread",
  "test/single-writer.test.ts":
    "one server per SQLite file: a second one is refused with the lock's DatabaseInUseError",
};

/** Files (or folders, ending in "/") outside server/src/store/ that may load better-sqlite3. */
const BETTER_SQLITE3_USERS = {
  "test/damaged-database.test.ts":
    "damages real SQLite files (headers, pages, schema rows) to see the server refuse them",
  "test/helpers/hold-write-lock.ts":
    "holds a database's write lock from a connection of its own, so a commit waits while a test looks on",
  "test/helpers/tamper-stored-spec.ts":
    "rewrites a stored task behind a live server's back, as someone with write access to the file would",
  "bench/lib/deps.mjs":
    "the storage and list benches measure the SQLite file itself (dbstat table sizes, an SQL baseline page)",
};

function* sourceFiles(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* sourceFiles(path);
    } else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) yield path;
  }
}

// A string or a comment; what is left between them is code.
const TOKENS = /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g;
// What comes before a string that names a module, in code: import … from "x", export … from "x",
// import "x", import("x"), require("x") — or, for `call`, the first argument of any call, the way
// createRequire(…)("better-sqlite3") loads a package.
const BEFORE_SPECIFIER = /(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*$/;
const BEFORE_ARGUMENT = /\(\s*$/;

/** Every string literal of a file's code (not inside a comment or another string), with how it is used. */
function* stringsOf(text) {
  let at = 0;
  let line = 1;
  let tail = ""; // the last few characters of code before here, comments and strings blanked
  const pass = (chunk, blank) => {
    line += chunk.split("\n").length - 1;
    tail = (tail + (blank ? chunk.replace(/[^\n]/g, " ") : chunk)).slice(-40);
  };
  for (const match of text.matchAll(TOKENS)) {
    const [token, string] = match;
    pass(text.slice(at, match.index), false);
    if (string !== undefined) {
      yield {
        value: string.slice(1, -1),
        line,
        specifier: string[0] !== "`" && BEFORE_SPECIFIER.test(tail),
        call: BEFORE_SPECIFIER.test(tail) || BEFORE_ARGUMENT.test(tail),
      };
    }
    pass(token, true);
    at = match.index + token.length;
  }
}

const isBetterSqlite3 = (value) => value === "better-sqlite3" || value.startsWith("better-sqlite3/");
const covers = (list, file) =>
  Object.keys(list).find((entry) => (entry.endsWith("/") ? file.startsWith(entry) : file === entry));

const failures = [];
const used = new Set();

for (const top of ROOTS) {
  for (const path of sourceFiles(join(root, top))) {
    const file = relative(root, path).split(sep).join("/");
    for (const { value, line, specifier, call } of stringsOf(readFileSync(path, "utf8"))) {
      if (specifier && value.startsWith(".") && !file.startsWith(SQLITE_DIRS[0])) {
        const target = `${relative(root, resolve(dirname(path), value))
          .split(sep)
          .join("/")}/`;
        if (SQLITE_DIRS.some((dir) => target.startsWith(dir))) {
          const allowed = covers(SQLITE_BACKEND_USERS, file);
          if (allowed) used.add(`sqlite ${allowed}`);
          else {
            failures.push(
              `${file}:${line}: imports ${value}, inside the SQLite backend: ` +
                "use the StorageBackend interface (server/src/store/backend.ts), or move what it needs beside it",
            );
          }
        }
      }
      if (call && isBetterSqlite3(value) && !file.startsWith(STORE_DIR)) {
        const allowed = covers(BETTER_SQLITE3_USERS, file);
        if (allowed) used.add(`better-sqlite3 ${allowed}`);
        else {
          failures.push(
            `${file}:${line}: loads better-sqlite3 outside server/src/store/: only a storage backend talks to its database`,
          );
        }
      }
    }
  }
}

for (const [kind, list] of [
  ["sqlite", SQLITE_BACKEND_USERS],
  ["better-sqlite3", BETTER_SQLITE3_USERS],
]) {
  for (const entry of Object.keys(list)) {
    if (!used.has(`${kind} ${entry}`)) {
      failures.push(`scripts/check-imports.mjs: the exception for ${entry} (${kind}) no longer applies: remove it`);
    }
  }
}

if (failures.length > 0) {
  for (const failure of failures) console.error(failure);
  console.error(`${failures.length} import(s) across the storage seam`);
  process.exit(1);
}
