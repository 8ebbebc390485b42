import { context } from "@opentelemetry/api";
import type { EmbeddedExec } from "../gen/supervisor/v1/task.js";
import { asRetryAfter } from "../retry-after.js";
import { type ExecutionContext, type ExecutionResult, type StopReason, stopReasonNow, watchForStop } from "./types.js";

export interface EmbeddedContext {
  /** Aborted on cancel (an AbortError) or at the deadline (a TimeoutError): stop soon. */
  signal: AbortSignal;
  deadline: Date;
  /** Writes `line` and a newline to the run's stdout. */
  log(line: string): void;
  /**
   * Says where this run's logs are kept outside the supervisor (an http or https URL, at most 2048
   * characters): shown with the run by `supervisor get`, `supervisor logs` and ListTaskRuns. Sent with the
   * run's end; the last call wins. The supervisor drops a URL it finds invalid (and logs why).
   */
  setLogUrl(url: string): void;
  /**
   * The W3C traceparent of this run's span ("" when the task has no trace). The handler also runs inside
   * the span's OpenTelemetry context, so spans it starts are the run's children when an SDK is registered.
   */
  traceparent: string;
}

/**
 * A handler: its return value is the run's result; a throw fails the run. Throwing (or returning) a
 * `RetryAfter` says the downstream asked to wait: the run is deferred, not failed (docs/concepts/flow-control.md).
 */
export type EmbeddedHandler = (payload: Record<string, unknown>, ctx: EmbeddedContext) => unknown | Promise<unknown>;

/**
 * The run's result (a protobuf Struct) from a handler's return value: a plain
 * object as it is, any other JSON value as `{ value }`, undefined as none.
 * Passed through JSON so that what the runner sends is exactly what JSON
 * would keep (Dates become strings, undefined fields vanish); throws for what
 * JSON cannot hold (BigInt, cycles).
 */
export function resultOf(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value);
  if (json === undefined) return undefined; // a function or a symbol: nothing to report
  const plain: unknown = JSON.parse(json);
  if (plain !== null && typeof plain === "object" && !Array.isArray(plain)) return plain as Record<string, unknown>;
  return { value: plain };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function abortReason(reason: StopReason): DOMException {
  // The names AbortSignal.timeout() and a plain abort() use, so fetch() and friends report them as usual.
  return reason === "timeout"
    ? new DOMException("the run's deadline passed", "TimeoutError")
    : new DOMException("the run was canceled", "AbortError");
}

/** A handler's RetryAfter (thrown or returned): a failed run that asks to be deferred. */
const retryAfterResult = (asked: { delayMs: number; key?: string; message: string }): ExecutionResult => ({
  outcome: "failed",
  error: asked.message,
  retryAfterMs: asked.delayMs,
  retryAfterKey: asked.key,
});

/** Handlers registered by name in the runner process, each called with its task's payload. */
export class EmbeddedRegistry {
  private readonly handlers = new Map<string, EmbeddedHandler>();

  /** Registers (or replaces) the handler for tasks of kind `embedded:<name>`. */
  handle(name: string, handler: EmbeddedHandler): this {
    this.handlers.set(name, handler);
    return this;
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * Calls the handler. Cancel and deadline abort its signal; JavaScript cannot
   * be stopped from outside, so a handler still busy a grace period later is
   * abandoned (left to finish unobserved) and the run reported canceled or
   * timed out. A RetryAfter the handler throws or returns ends the run failed
   * with a retry-after (deferred, not counted as a failure). Never rejects.
   */
  async execute(spec: EmbeddedExec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const handler = this.handlers.get(spec.handler);
    if (!handler) return { outcome: "failed", error: `no handler "${spec.handler}" registered` };
    const early = stopReasonNow(ctx);
    if (early) return { outcome: early };

    const controller = new AbortController();
    let stoppedFor: StopReason | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let giveUp!: () => void;
    const abandoned = new Promise<void>((resolve) => (giveUp = resolve));
    const unwatch = watchForStop(ctx, (reason) => {
      stoppedFor = reason;
      controller.abort(abortReason(reason));
      graceTimer = setTimeout(giveUp, ctx.gracePeriodMs);
    });
    let running = true;
    // An abandoned handler may keep logging; its run is over, so that output goes nowhere.
    const log = (line: string) => {
      if (running) ctx.onOutput("stdout", Buffer.from(`${line}\n`));
    };

    const setLogUrl = (url: string) => {
      if (running) ctx.setLogUrl?.(url);
    };

    try {
      const handlerCtx = {
        signal: controller.signal,
        deadline: ctx.deadline,
        log,
        setLogUrl,
        traceparent: ctx.traceparent ?? "",
      };
      const run = async () => handler(spec.payload ?? {}, handlerCtx);
      const handled = ctx.traceContext ? context.with(ctx.traceContext, run) : run();
      handled.catch(() => {}); // once abandoned, a late rejection has nobody to report to
      const value = await Promise.race([handled, abandoned]);
      if (stoppedFor) return { outcome: stoppedFor };
      const asked = asRetryAfter(value);
      if (asked) return retryAfterResult(asked);
      try {
        return { outcome: "succeeded", result: resultOf(value) };
      } catch (error) {
        return { outcome: "failed", error: `the handler's result is not JSON: ${messageOf(error)}` };
      }
    } catch (error) {
      const asked = stoppedFor ? undefined : asRetryAfter(error);
      if (asked) return retryAfterResult(asked);
      return { outcome: stoppedFor ?? "failed", error: messageOf(error) };
    } finally {
      running = false;
      unwatch();
      clearTimeout(graceTimer);
    }
  }
}
