import type { SubprocessExec } from "../gen/supervisor/v1/task.js";
import { runInProcessGroup } from "./process-run.js";
import type { ExecutionContext, ExecutionResult, Executor } from "./types.js";

/** What a child may inherit from the runner's own environment (LC_* too, always). */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
];

/** Never inherited, even if allowlisted: they change what the child loads or runs. */
const NEVER_INHERITED = new Set([
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "LD_AUDIT",
  "NODE_OPTIONS",
  "DYLD_INSERT_LIBRARIES",
  "DYLD_LIBRARY_PATH",
]);

export interface SubprocessOptions {
  /** Variables of the runner's environment a child inherits. Default: DEFAULT_ENV_ALLOWLIST. */
  envAllowlist?: readonly string[];
  /** Run children as this user / group (the runner needs the privilege to switch). */
  uid?: number;
  gid?: number;
}

/** The child's environment: the allowlisted part of the runner's (plus LC_*), then the spec's own entries. */
export function childEnvironment(
  specEnv: Record<string, string>,
  allowlist: readonly string[] = DEFAULT_ENV_ALLOWLIST,
  runnerEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(runnerEnv)) {
    if (value === undefined || NEVER_INHERITED.has(key)) continue;
    if (allowlist.includes(key) || key.startsWith("LC_")) env[key] = value;
  }
  return { ...env, ...specEnv };
}

/**
 * Runs a program from argv (never through a shell) in its own process group,
 * with the stop, output and exit-code handling of runInProcessGroup.
 */
export function createSubprocessExecutor(options: SubprocessOptions = {}): Executor<SubprocessExec> {
  const allowlist = options.envAllowlist ?? DEFAULT_ENV_ALLOWLIST;
  return {
    execute(spec: SubprocessExec, ctx: ExecutionContext): Promise<ExecutionResult> {
      return runInProcessGroup(
        spec.command,
        spec.args,
        {
          cwd: spec.workingDir || undefined,
          env: childEnvironment(spec.env, allowlist),
          uid: options.uid,
          gid: options.gid,
        },
        ctx,
      );
    },
  };
}

export const subprocessExecutor: Executor<SubprocessExec> = createSubprocessExecutor();
