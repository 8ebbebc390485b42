import { spawn } from "node:child_process";
import type { SubprocessExec } from "../gen/supervisor/v1/task.js";
import type { ExecutionContext, ExecutionResult, Executor } from "./types.js";

/** What a child may inherit from the runner's own environment. */
export const DEFAULT_ENV_ALLOWLIST = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM"];
/** Never inherited, even if allowlisted: they change what the child runs or loads. */
const NEVER_INHERITED = new Set(["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "NODE_OPTIONS", "DYLD_INSERT_LIBRARIES"]);

export interface SubprocessOptions {
  envAllowlist?: string[];
  uid?: number;
  gid?: number;
}

/** The child's environment: the allowlisted part of ours (plus LC_*), then the spec's. */
export function childEnvironment(spec: SubprocessExec, allowlist: string[], own: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(own)) {
    if (value === undefined || NEVER_INHERITED.has(key)) continue;
    if (allowlist.includes(key) || key.startsWith("LC_")) env[key] = value;
  }
  return { ...env, ...spec.env };
}

/** Signals the whole process group, ignoring a group that is already gone. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left to signal
  }
}

/**
 * Runs a program with argv (never a shell) in its own process group, streams
 * its output as it comes, and on cancel or deadline stops the whole group:
 * SIGTERM, then SIGKILL after the grace period.
 */
export function createSubprocessExecutor(options: SubprocessOptions = {}): Executor<SubprocessExec> {
  const allowlist = options.envAllowlist ?? DEFAULT_ENV_ALLOWLIST;
  return {
    execute(spec: SubprocessExec, ctx: ExecutionContext): Promise<ExecutionResult> {
      if (ctx.signal.aborted) return Promise.resolve({ outcome: "canceled" });
      return new Promise((resolve) => {
        let child;
        try {
          child = spawn(spec.command, spec.args, {
            shell: false,
            detached: true, // its own process group, so the whole tree can be stopped
            cwd: spec.workingDir || undefined,
            env: childEnvironment(spec, allowlist),
            stdio: ["ignore", "pipe", "pipe"],
            uid: options.uid,
            gid: options.gid,
          });
        } catch (error) {
          resolve({ outcome: "failed", error: `spawn ${spec.command}: ${(error as Error).message}` });
          return;
        }
        let stoppedFor: "timeout" | "canceled" | undefined;
        let killTimer: NodeJS.Timeout | undefined;
        let spawnError: Error | undefined;
        const stop = (why: "timeout" | "canceled") => {
          if (stoppedFor || child.pid === undefined || child.exitCode !== null) return;
          stoppedFor = why;
          killGroup(child.pid, "SIGTERM");
          killTimer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), ctx.gracePeriodMs);
        };
        const onAbort = () => stop("canceled");
        ctx.signal.addEventListener("abort", onAbort, { once: true });
        const deadlineTimer = setTimeout(() => stop("timeout"), Math.max(0, ctx.deadline.getTime() - Date.now()));
        child.stdout!.on("data", (chunk: Buffer) => ctx.onOutput("stdout", chunk));
        child.stderr!.on("data", (chunk: Buffer) => ctx.onOutput("stderr", chunk));
        child.on("error", (error) => (spawnError = error));
        // "close" comes after the exit and after both pipes are drained: all output is in.
        child.on("close", (code, signal) => {
          clearTimeout(deadlineTimer);
          clearTimeout(killTimer);
          ctx.signal.removeEventListener("abort", onAbort);
          // Leave no stragglers: the group may outlive its leader.
          if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
          if (spawnError) {
            resolve({ outcome: "failed", error: `spawn ${spec.command}: ${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}` });
          } else if (stoppedFor) {
            resolve({ outcome: stoppedFor, exitCode: code ?? undefined, error: signal ? `stopped by ${signal}` : undefined });
          } else if (code === 0) {
            resolve({ outcome: "succeeded", exitCode: 0 });
          } else {
            resolve({ outcome: "failed", exitCode: code ?? undefined, error: signal ? `killed by ${signal}` : undefined });
          }
        });
      });
    },
  };
}

export const subprocessExecutor = createSubprocessExecutor();
