import type { Context } from "@opentelemetry/api";
export type OutputStreamName = "stdout" | "stderr";

/** What an executor is given for one run. */
export interface ExecutionContext {
  /** Aborted = cancel requested: stop and report "canceled". */
  signal: AbortSignal;
  /** At this time: stop and report "timeout". */
  deadline: Date;
  /** SIGTERM → wait this long → SIGKILL. Read when the stop happens: the runner may change it meanwhile. */
  gracePeriodMs: number;
  /** Called as output is produced. */
  onOutput(stream: OutputStreamName, data: Buffer): void;
  /**
   * Aborted = stop now, no grace left (the runner is being killed): even a
   * run already stopping after a cancel is killed at once.
   */
  killSignal?: AbortSignal;
  /**
   * Says where the run's logs are kept outside the supervisor (Run.log_url): the runner sends it with the
   * run's end. Optional: an executor run on its own (in a test) is given none.
   */
  setLogUrl?(url: string): void;
  /**
   * The W3C traceparent of the run's span (docs/tracing.md), "" or unset when the task has no trace: a
   * subprocess gets it as $TRACEPARENT.
   */
  traceparent?: string;
  /** The OpenTelemetry context of the run's span: an embedded handler runs inside it. */
  traceContext?: Context;
}

export interface ExecutionResult {
  outcome: "succeeded" | "failed" | "timeout" | "canceled";
  exitCode?: number;
  error?: string;
  result?: Record<string, unknown>;
  /** The init step (TaskSpec.init, 1-based) that ended the run, when one did (RunFinished.failed_init_step). */
  failedInitStep?: number;
  /** With outcome "failed": the downstream asked to wait this long (RunFinished.retry_after; a RetryAfter). */
  retryAfterMs?: number;
  /** With retryAfterMs: only this key of the task is paused (RunFinished.retry_after_key). */
  retryAfterKey?: string;
}

export interface Executor<S> {
  /** Never rejects: every problem is a "failed" result. */
  execute(spec: S, ctx: ExecutionContext): Promise<ExecutionResult>;
}

/** Why a run is stopped from outside: its deadline passed, or a cancel was requested. */
export type StopReason = "timeout" | "canceled";

/** The reason a run must not start at all, if any. An invalid deadline counts as passed. */
export function stopReasonNow(ctx: ExecutionContext): StopReason | undefined {
  if (ctx.signal.aborted) return "canceled";
  if (!(Date.now() < ctx.deadline.getTime())) return "timeout";
  return undefined;
}

// setTimeout fires at once (with a warning) for delays beyond this, so long deadlines are waited for in steps.
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `onStop` once: "canceled" when ctx.signal aborts, "timeout" when
 * ctx.deadline passes. Returns the function that stops watching (removes the
 * listener and the timer); call it when the run ends.
 */
export function watchForStop(ctx: ExecutionContext, onStop: (reason: StopReason) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const fire = (reason: StopReason) => {
    if (done) return;
    unwatch();
    onStop(reason);
  };
  const onAbort = () => fire("canceled");
  const armDeadline = () => {
    const remaining = ctx.deadline.getTime() - Date.now();
    if (!(remaining > 0)) return fire("timeout");
    timer = setTimeout(armDeadline, Math.min(remaining, MAX_TIMER_DELAY_MS));
  };
  function unwatch() {
    done = true;
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onAbort);
  }
  if (ctx.signal.aborted) {
    // Deferred, like every other stop: callers finish setting up before onStop runs.
    queueMicrotask(onAbort);
  } else {
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(armDeadline, Math.min(Math.max(0, ctx.deadline.getTime() - Date.now()), MAX_TIMER_DELAY_MS));
  }
  return unwatch;
}

/**
 * watchForStop as an AbortSignal, for work that takes one: it aborts with the
 * StopReason ("timeout" or "canceled") as its reason. Call `unwatch` when the work is done.
 */
export function stopSignalOf(ctx: ExecutionContext): { signal: AbortSignal; unwatch: () => void } {
  const controller = new AbortController();
  const unwatch = watchForStop(ctx, (reason) => controller.abort(reason));
  return { signal: controller.signal, unwatch };
}

/**
 * Settles like `work`, or rejects with the signal's reason as soon as it aborts. Work that cannot be
 * interrupted (a read stuck in the kernel, a compile) is left to finish unobserved; whoever started
 * it must release what it holds once it does.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
