import type { OutputStream } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import { outputWrite } from "../store/writes.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import type { OutputHub } from "./output-hub.js";
import type { ActiveRun, RunTracker } from "./run-tracker.js";
import type { RunnerSession } from "./runner-session.js";

export interface OutputRecorderDeps {
  retry: CommitRetry;
  clock: Clock;
  outputs: OutputHub;
  tracker: RunTracker;
  session(runnerId: string): RunnerSession | undefined;
  metrics?: ServerMetrics;
}

/**
 * A run's output on its way to the store. Each chunk is accounted for by byte
 * offset as it arrives (so a resend is recognised before the first copy has
 * even committed), then committed in order and acknowledged. A chunk the cap
 * pushes out before its commit is never written, so however far the store
 * lags (a flood, a full disk), what waits for it stays within the cap.
 */
export class OutputRecorder {
  constructor(private readonly deps: OutputRecorderDeps) {}

  record(run: ActiveRun, stream: OutputStream, data: Buffer, seq: number, offset: number | undefined): void {
    if (run.ending || seq <= run.lastSeq || data.length === 0) return;
    const at = offset ?? run.cap.accounted; // a runner that sends no offsets sends no gaps
    const droppedBefore = run.cap.droppedBytes;
    const decision = run.cap.add(seq, at, data.length);
    const dropped = run.cap.droppedBytes - droppedBefore;
    if (dropped > 0) this.deps.metrics?.outputDropped.inc(dropped);
    run.lastSeq = seq;
    const ack = () => this.deps.session(run.runnerId)?.ack(run.runId, seq, false);
    if (!decision) {
      // Every byte is recorded already, or will be by a report queued before this one: ack after those.
      this.deps.tracker.enqueue(run, async () => ack());
      return;
    }
    const kept = data.subarray(decision.skip, decision.skip + decision.keep);
    const keptOffset = at + decision.skip;
    const timeMs = this.deps.clock.now();
    const pending = { cancelled: false };
    run.unstored.set(seq, pending);
    for (const dropped of decision.dropSeqs) {
      // Pushed out before its commit: it is never written (a retry skips it too). Runs commit
      // in order, so the delete below also removes it if it was written after all.
      const unstored = run.unstored.get(dropped);
      if (unstored) unstored.cancelled = true;
      run.unstored.delete(dropped);
    }
    this.deps.tracker.enqueue(run, async () => {
      const chunk = { runId: run.runId, seq, stream, timeMs, offset: keptOffset, data: kept };
      const write = outputWrite(run.runId, decision.dropSeqs, () => (pending.cancelled ? undefined : chunk));
      await commitUntilDone(this.deps.retry, `storing output of run ${run.runId}`, write);
      run.unstored.delete(seq);
      this.deps.outputs.publish(run.taskId, {
        kind: "chunk",
        chunk: { stream, data: kept, seq, time: new Date(timeMs), offset: keptOffset },
      });
      ack();
    });
  }
}
