#!/usr/bin/env node
// Biome's formatter keeps code within 120 columns but never breaks a string or
// a comment; this catches those too. Generated code is exempt.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const MAX = 120;
const ROOTS = ["server/src", "sdk/src", "cli/src"];
const root = new URL("..", import.meta.url).pathname;

function* files(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "gen" && entry.name !== "node_modules" && entry.name !== "dist") yield* files(path);
    } else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) yield path;
  }
}

let long = 0;
for (const top of ROOTS) {
  for (const path of files(join(root, top))) {
    readFileSync(path, "utf8")
      .split("\n")
      .forEach((line, index) => {
        if (line.length <= MAX) return;
        long++;
        console.error(`${relative(root, path)}:${index + 1}: ${line.length} characters (at most ${MAX})`);
      });
  }
}
if (long > 0) process.exit(1);
