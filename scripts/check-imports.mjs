#!/usr/bin/env node
// The storage seam (server/src/store/backend.ts) is the one door to storage: only a backend's own
// folder knows its database. Two rules, over server/src, cli/src, sdk/src, bench and test:
//   1. nothing outside a backend's folder (server/src/store/sqlite/, server/src/store/postgres/) imports
//      from it, except server/src/store/open-backend.ts (which picks the backend) and the files listed
//      for that backend in BACKEND_USERS;
//   2. nothing outside server/src/store/ loads a database driver (better-sqlite3, pg: import, export from,
//      import(), require(), or the first argument of any call, as createRequire's require takes it),
//      except the files listed for that driver in DRIVER_USERS.
// Each exception says why; an exception that no longer applies fails too, so the lists stay short.
// Usage: node scripts/check-imports.mjs [root] (root defaults to the repository; tests pass a fixture).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const root = resolve(process.argv[2] ?? new URL("..", import.meta.url).pathname);
const ROOTS = ["server/src", "cli/src", "sdk/src", "bench", "test"];
const SKIP_DIRS = new Set(["node_modules", "dist", "gen", "results"]);
const STORE_DIR = "server/src/store/";
const PICKS_THE_BACKEND = "picks the backend the configuration names";

/** Each backend: its folders (source and build), and the files (or folders, ending in "/") outside them that may import them. */
const BACKENDS = {
  sqlite: {
    dirs: ["server/src/store/sqlite/", "server/dist/store/sqlite/"],
    users: {
      "server/src/store/open-backend.ts": PICKS_THE_BACKEND,
      "test/conformance/": "runs the backend conformance suite against SqliteBackend on a real file",
      "test/helpers/engine.ts":
        "the fake-clock engine harness writes on the event loop: its settled turns cannot wait for a writer thread",
      "test/single-writer.test.ts":
        "one server per SQLite file: a second one is refused with the lock's DatabaseInUseError",
    },
  },
  postgres: {
    dirs: ["server/src/store/postgres/", "server/dist/store/postgres/"],
    users: {
      "server/src/store/open-backend.ts": PICKS_THE_BACKEND,
      "test/conformance/": "runs the backend conformance suite against PostgresBackend on a real database",
      "test/setup/postgres.ts": "migrates the template database every test database is copied from",
    },
  },
};

/** Each driver, and the files (or folders, ending in "/") outside server/src/store/ that may load it. */
const DRIVERS = {
  "better-sqlite3": {
    "test/damaged-database.test.ts":
      "damages real SQLite files (headers, pages, schema rows) to see the server refuse them",
    "test/helpers/hold-write-lock.ts":
      "holds a database's write lock from a connection of its own, so a commit waits while a test looks on",
    "test/helpers/tamper-stored-spec.ts":
      "rewrites a stored task behind a live server's back, as someone with write access to the file would",
    "bench/lib/deps.mjs":
      "the storage and list benches measure the SQLite file itself (dbstat table sizes, an SQL baseline page)",
  },
  pg: {
    "test/setup/postgres.ts": "makes the template database on the test cluster",
    "test/helpers/postgres.ts": "creates and drops each test's database on the test cluster",
    "test/helpers/tamper-stored-spec.ts":
      "rewrites a stored task behind a live server's back, as someone with write access to the database would",
    "test/conformance/":
      "the PostgreSQL backend's own tests reach under it: end its sessions, read its catalog, migrate by hand",
    "bench/peers/": "pg-boss and graphile-worker, measured beside Supervisor, keep their data in PostgreSQL",
    "bench/lib/deps.mjs":
      "--backend postgres creates and drops each pass's database; the list bench's SQL baseline pages",
  },
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

const driverOf = (value) => Object.keys(DRIVERS).find((driver) => value === driver || value.startsWith(`${driver}/`));
const covers = (list, file) =>
  Object.keys(list).find((entry) => (entry.endsWith("/") ? file.startsWith(entry) : file === entry));

const failures = [];
const used = new Set();

for (const top of ROOTS) {
  for (const path of sourceFiles(join(root, top))) {
    const file = relative(root, path).split(sep).join("/");
    for (const { value, line, specifier, call } of stringsOf(readFileSync(path, "utf8"))) {
      if (specifier && value.startsWith(".")) {
        const target = `${relative(root, resolve(dirname(path), value))
          .split(sep)
          .join("/")}/`;
        for (const [backend, { dirs, users }] of Object.entries(BACKENDS)) {
          if (file.startsWith(dirs[0]) || !dirs.some((dir) => target.startsWith(dir))) continue;
          const allowed = covers(users, file);
          if (allowed) used.add(`${backend} ${allowed}`);
          else {
            failures.push(
              `${file}:${line}: imports ${value}, inside the ${backend} backend: ` +
                "use the StorageBackend interface (server/src/store/backend.ts), or move what it needs beside it",
            );
          }
        }
      }
      const driver = call ? driverOf(value) : undefined;
      if (driver && !file.startsWith(STORE_DIR)) {
        const allowed = covers(DRIVERS[driver], file);
        if (allowed) used.add(`${driver} ${allowed}`);
        else {
          failures.push(
            `${file}:${line}: loads ${driver} outside server/src/store/: only a storage backend talks to its database`,
          );
        }
      }
    }
  }
}

const exceptions = [
  ...Object.entries(BACKENDS).map(([backend, { users }]) => [backend, users]),
  ...Object.entries(DRIVERS),
];
for (const [kind, list] of exceptions) {
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
