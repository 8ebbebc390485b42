import { execFile } from "node:child_process";

/** How long one try of a runtime may take (a cold podman can be slow); a hung one counts as broken. */
const PROBE_TIMEOUT_MS = 30_000;

export type ProbeResult = { ok: true; stdout: string } | { ok: false; reason: string };

/**
 * Runs `command args` to completion and says whether it exited 0; when not, why, in one line
 * (the last line it printed on stderr, or how it ended). Never rejects.
 */
export function tryCommand(command: string, args: readonly string[], timeoutMs = PROBE_TIMEOUT_MS) {
  return new Promise<ProbeResult>((resolve) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (!error) return resolve({ ok: true, stdout });
      const lastLine = stderr.trim().split("\n").pop()?.trim();
      const code = (error as NodeJS.ErrnoException).code;
      const how =
        code === "ENOENT"
          ? "not installed"
          : error.killed
            ? `no answer within ${timeoutMs} ms`
            : `exit ${typeof code === "number" ? code : (error.signal ?? "?")}`;
      resolve({ ok: false, reason: lastLine && code !== "ENOENT" ? `${how}: ${lastLine}` : how });
    });
  });
}
