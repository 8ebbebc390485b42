#!/usr/bin/env node
// Tests wait on events, never on fixed sleeps (the rule is spelled out at the top of
// test/helpers/wait.ts). Every timer in test/ — a setTimeout or setInterval call, a sleep() or
// delay(), node:timers/promises — must say why it is not a synchronising sleep, in a comment on
// its line or the line above: `// scenario pause: …` or `// bound: …`.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const TIMER = /\b(setTimeout|setInterval)\s*\(|(?<![\w.$])(sleep|delay)\s*\(|timers\/promises/;
const MARKER = /\/\/.*\b(scenario pause|bound):/;
const COMMENT = /^\s*(\/\/|\/\*|\*)/;

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "dist") yield* files(path);
    } else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) yield path;
  }
}

let failures = 0;
for (const path of files(join(root, "test"))) {
  const name = relative(root, path);
  const lines = readFileSync(path, "utf8").split("\n");
  const bare = [];
  lines.forEach((line, index) => {
    if (COMMENT.test(line) || !TIMER.test(line)) return;
    if (MARKER.test(line) || MARKER.test(lines[index - 1] ?? "")) return;
    bare.push(index + 1);
  });
  if (bare.length === 0) continue;
  failures += bare.length;
  for (const line of bare) console.error(`${name}:${line}: ${lines[line - 1].trim()}`);
}
if (failures > 0) {
  console.error(
    `${failures} unexplained timer(s) in test/: wait on the event each stands for (test/helpers/wait.ts), ` +
      "or say why it is not synchronisation in a `// scenario pause:` or `// bound:` comment",
  );
  process.exit(1);
}
