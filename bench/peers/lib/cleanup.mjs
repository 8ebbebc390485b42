// Everything the harness starts outside this process (Redis, PostgreSQL, temp dirs) registers a
// synchronous undo here. They run once, newest first: at the end of a normal run (the caller's
// `finally`), on Ctrl-C / SIGTERM / SIGHUP, on an uncaught error, and on process exit, so a failed
// or interrupted run leaves no server behind. Node children are also ended by bench/lib/procs.mjs.
import { killChildren } from "../../lib/procs.mjs";

const undos = [];
let ran = false;

/** Registers `undo` (synchronous); returns a function that runs it early and unregisters it. */
export function onCleanup(what, undo) {
  const entry = { what, undo };
  undos.push(entry);
  return () => {
    const index = undos.indexOf(entry);
    if (index < 0) return;
    undos.splice(index, 1);
    runOne(entry);
  };
}

function runOne({ what, undo }) {
  try {
    undo();
  } catch (error) {
    process.stderr.write(`peers: cleanup of ${what} failed: ${error?.message ?? error}\n`);
  }
}

export function cleanupAll() {
  if (ran) return;
  ran = true;
  killChildren();
  while (undos.length) runOne(undos.pop());
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
]) {
  process.on(signal, () => {
    process.stderr.write(`\npeers: ${signal}: stopping Redis, PostgreSQL and every child\n`);
    cleanupAll();
    process.exit(code);
  });
}
process.on("uncaughtException", (error) => {
  process.stderr.write(`peers: ${error?.stack ?? error}\n`);
  cleanupAll();
  process.exit(1);
});
process.on("unhandledRejection", (error) => {
  process.stderr.write(`peers: unhandled rejection: ${error?.stack ?? error}\n`);
  cleanupAll();
  process.exit(1);
});
process.on("exit", cleanupAll);
