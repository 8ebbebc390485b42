import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI_PATH = fileURLToPath(new URL("../../cli/bin/supervisor.js", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `supervisor` CLI to completion. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/**
 * Starts `supervisor serve` (or any long-running command) and resolves once it printed a line matching `ready`.
 * One that is not ready within `readyWithinMs` is killed and the promise rejects: no caller is left without a
 * handle on a process it has to stop.
 */
export function startCli(
  args: string[],
  ready: RegExp,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; readyWithinMs?: number } = {},
): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const readyWithinMs = options.readyWithinMs ?? 30_000;
    // bound: only gives up on the wait for the ready line
    const notReady = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`not ready within ${readyWithinMs} ms:\n${output}`));
    }, readyWithinMs);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = output.match(ready);
      if (!match) return;
      clearTimeout(notReady);
      resolve({ child, match, output: () => output });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(notReady);
      reject(new Error(`exited with ${code} before ready:\n${output}`));
    });
  });
}

/** Stops a child and waits for it to be gone. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill(signal);
  return exited;
}
