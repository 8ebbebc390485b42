import { type ChildProcess, spawn } from "node:child_process";
import { groupLiveness, signalGroup } from "./process-group.js";
import { type ExecutionContext, type ExecutionResult, type StopReason, stopReasonNow, watchForStop } from "./types.js";

/** What a program is started with; the rest (own process group, piped output, no shell) is fixed. */
export interface ProcessSpawnOptions {
  cwd?: string;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
}

function spawnFailure(command: string, error: unknown): ExecutionResult {
  const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
  return { outcome: "failed", error: `spawn ${command}: ${reason}` };
}

/** How often, once the leader has exited, the executor looks whether its group is gone. */
const GROUP_POLL_MS = 50;

/**
 * Runs a program from argv (never through a shell) as the leader of its own
 * process group and forwards its output as it arrives. A cancel or the
 * deadline stops the whole group: SIGTERM, then SIGKILL after the grace
 * period (at once when it is 0). The run ends when the leader has exited and
 * its output has ended or its group is gone, whichever comes first: a process
 * that escaped the group (setsid, a daemon) may hold the output open, but it
 * does not keep the run going. Whatever is left of the group when the run
 * ends is killed. Shared by the subprocess and container executors, so both
 * stop, stream and report exit codes the same way. Never rejects.
 */
export function runInProcessGroup(
  command: string,
  args: readonly string[],
  options: ProcessSpawnOptions,
  ctx: ExecutionContext,
): Promise<ExecutionResult> {
  const early = stopReasonNow(ctx);
  if (early) return Promise.resolve({ outcome: early });
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      shell: false,
      detached: true, // a new process group, so the whole tree can be signalled at once
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      uid: options.uid,
      gid: options.gid,
    });
  } catch (error) {
    return Promise.resolve(spawnFailure(command, error));
  }
  return superviseChild(child, command, ctx);
}

/**
 * Waits for a spawned child (its exit, then the end of its output or of its
 * group), stopping its group when told to.
 */
function superviseChild(child: ChildProcess, command: string, ctx: ExecutionContext): Promise<ExecutionResult> {
  return new Promise((resolve) => {
    const groupId = child.pid; // undefined when the spawn failed
    let stoppedFor: StopReason | undefined;
    let leaderExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let terminating = false;
    let killTimer: NodeJS.Timeout | undefined;
    let groupPoll: NodeJS.Timeout | undefined;
    let settled = false;

    // SIGTERM now, SIGKILL after the grace period, once. A grace period of 0 means "kill everything now":
    // SIGKILL at once, even when an earlier SIGTERM is still waiting for its grace period to end.
    const terminateGroup = () => {
      if (groupId === undefined || settled) return;
      if (!(ctx.gracePeriodMs > 0)) {
        clearTimeout(killTimer);
        terminating = true;
        signalGroup(groupId, "SIGKILL");
        return;
      }
      if (terminating) return;
      terminating = true;
      if (signalGroup(groupId, "SIGTERM"))
        killTimer = setTimeout(() => signalGroup(groupId, "SIGKILL"), ctx.gracePeriodMs);
    };
    const unwatch = watchForStop(ctx, (reason) => {
      // After the leader exited its exit status is the outcome; the stop only hurries its leftovers.
      if (!leaderExit) stoppedFor = reason;
      terminateGroup();
    });
    const onKill = () => {
      if (!leaderExit) stoppedFor ??= "canceled";
      terminateGroup(); // the grace period is 0 by now: SIGKILL at once
    };
    ctx.killSignal?.addEventListener("abort", onKill, { once: true });
    const finish = (result: ExecutionResult) => {
      if (settled) return;
      settled = true;
      unwatch();
      ctx.killSignal?.removeEventListener("abort", onKill);
      clearTimeout(killTimer);
      clearInterval(groupPoll);
      // Group members that let go of stdout/stderr can outlive the leader unnoticed: end them now.
      if (groupId !== undefined) signalGroup(groupId, "SIGKILL");
      resolve(result);
    };
    const finishWithExit = () => {
      const exit = leaderExit ?? { code: null, signal: null };
      finish(outcomeOf(exit.code, exit.signal, stoppedFor));
    };
    // The group is gone, so nothing of the run can write any more, but an escaped process may keep the
    // pipes open. What the run wrote is already in them, and the poll phase of the event loop reads it
    // before setImmediate's callback runs; after that the pipes are let go of.
    const endWithGroup = () =>
      setImmediate(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finishWithExit();
      });
    const watchGroup = (id: number) => {
      const hasRunningMember = groupLiveness(id);
      groupPoll = setInterval(() => {
        if (hasRunningMember()) return;
        clearInterval(groupPoll);
        endWithGroup();
      }, GROUP_POLL_MS);
    };

    child.stdout?.on("data", (chunk: Buffer) => ctx.onOutput("stdout", chunk));
    child.stderr?.on("data", (chunk: Buffer) => ctx.onOutput("stderr", chunk));
    child.on("error", (error) => {
      // Only a failed spawn matters here; no process means no output to wait for.
      if (child.pid === undefined) finish(spawnFailure(command, error));
    });
    child.on("exit", (code, signal) => {
      leaderExit = { code, signal };
      // Background members of the group still holding our pipes would delay "close" forever.
      terminateGroup();
      if (groupId !== undefined) watchGroup(groupId);
    });
    // "close" comes after the exit and after both pipes ended: all output has been delivered.
    child.on("close", (code, signal) => {
      leaderExit ??= { code, signal };
      finishWithExit();
    });
  });
}

function outcomeOf(
  code: number | null,
  signal: NodeJS.Signals | null,
  stoppedFor: StopReason | undefined,
): ExecutionResult {
  const exitCode = code ?? undefined;
  if (stoppedFor) return { outcome: stoppedFor, exitCode, error: signal ? `stopped by ${signal}` : undefined };
  if (code === 0) return { outcome: "succeeded", exitCode: 0 };
  return { outcome: "failed", exitCode, error: signal ? `killed by ${signal}` : undefined };
}
