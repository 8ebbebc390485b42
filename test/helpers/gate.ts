import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A file a task's shell command waits for, opened by the test once the moment it stands for has
 * come (a chunk seen, a signal sent, the supervisor gone): the run is held open by an event, not
 * for a guessed number of seconds. The command gives up (exit 124) after 60 s, so a test that
 * never opens its gate fails instead of leaving a process behind.
 */
export interface FileGate {
  /** A shell snippet that returns once the gate is open. */
  wait: string;
  open(): void;
}

export function fileGate(dir: string, name: string): FileGate {
  const path = join(dir, `gate-${name}`);
  return {
    wait: `i=0; until [ -e '${path}' ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 124; sleep 0.05; done`,
    open: () => writeFileSync(path, ""),
  };
}
