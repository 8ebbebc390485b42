export type OutputStreamName = "stdout" | "stderr";

/** What an executor is given for one run. */
export interface ExecutionContext {
  /** Aborted = cancel requested: stop and report "canceled". */
  signal: AbortSignal;
  /** At this time: stop and report "timeout". */
  deadline: Date;
  /** SIGTERM → wait this long → SIGKILL. */
  gracePeriodMs: number;
  /** Called as output is produced. */
  onOutput(stream: OutputStreamName, data: Buffer): void;
}

export interface ExecutionResult {
  outcome: "succeeded" | "failed" | "timeout" | "canceled";
  exitCode?: number;
  error?: string;
  result?: Record<string, unknown>;
}

export interface Executor<S> {
  execute(spec: S, ctx: ExecutionContext): Promise<ExecutionResult>;
}
