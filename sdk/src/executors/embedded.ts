import type { EmbeddedExec } from "../gen/supervisor/v1/task.js";
import type { ExecutionContext, ExecutionResult } from "./types.js";

export interface EmbeddedContext {
  /** Aborted on cancel or at the deadline: stop soon. */
  signal: AbortSignal;
  deadline: Date;
  /** Writes a line to the run's stdout. */
  log(line: string): void;
}

export type EmbeddedHandler = (payload: Record<string, unknown>, ctx: EmbeddedContext) => unknown | Promise<unknown>;

/** Turns a handler's return value into a Struct-shaped result. */
function asResult(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  return { value };
}

/** Handlers registered by name in the runner process, each called with the task's payload. */
export class EmbeddedRegistry {
  private readonly handlers = new Map<string, EmbeddedHandler>();

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
   * Calls the handler. Cancel and deadline abort its signal; a handler that
   * ignores its signal is abandoned after the grace period (JavaScript cannot
   * be killed from outside) and the run is reported as canceled or timed out.
   */
  async execute(spec: EmbeddedExec, ctx: ExecutionContext): Promise<ExecutionResult> {
    const handler = this.handlers.get(spec.handler);
    if (!handler) return { outcome: "failed", error: `no handler "${spec.handler}" registered` };
    const controller = new AbortController();
    let stoppedFor: "timeout" | "canceled" | undefined;
    let giveUp!: () => void;
    const abandoned = new Promise<void>((resolve) => (giveUp = resolve));
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = (why: "timeout" | "canceled") => {
      if (stoppedFor) return;
      stoppedFor = why;
      controller.abort(why);
      graceTimer = setTimeout(giveUp, ctx.gracePeriodMs);
    };
    const onAbort = () => stop("canceled");
    if (ctx.signal.aborted) return { outcome: "canceled" };
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const deadlineTimer = setTimeout(() => stop("timeout"), Math.max(0, ctx.deadline.getTime() - Date.now()));
    const log = (line: string) => ctx.onOutput("stdout", Buffer.from(line + "\n"));
    try {
      const settled = Promise.resolve().then(() => handler(spec.payload ?? {}, { signal: controller.signal, deadline: ctx.deadline, log }));
      settled.catch(() => {}); // an abandoned handler may still reject later; nobody is listening then
      const value = await Promise.race([settled, abandoned]);
      if (stoppedFor) return { outcome: stoppedFor };
      return { outcome: "succeeded", result: asResult(value) };
    } catch (error) {
      if (stoppedFor) return { outcome: stoppedFor, error: error instanceof Error ? error.message : String(error) };
      return { outcome: "failed", error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(deadlineTimer);
      clearTimeout(graceTimer);
      ctx.signal.removeEventListener("abort", onAbort);
    }
  }
}
