import { type CallSettings, type UnaryMethod, unaryCall } from "./call.js";
import { DispatchPause, type DispatchServiceClient } from "./gen/supervisor/v1/dispatch_service.js";
import { type DeepPartial, fromInput } from "./input.js";
import { withRetry } from "./retry.js";
import type { CallContext } from "./schedules.js";

/** What a pause holds back: exactly one of a slot, a concurrency key or a label selector. */
export type PauseTarget = { slot: string } | { concurrencyKey: string } | { labelSelector: string };

/** `client.dispatch.pause({ id, slot | concurrencyKey | labelSelector, note })`. */
export type PauseInput = { id: string; note?: string } & PauseTarget;

/** The DispatchPause of a PauseInput (a DeepPartial DispatchPause is taken as it is). */
export function pauseOfInput(input: PauseInput | DeepPartial<DispatchPause>): DispatchPause {
  if ("target" in input) return fromInput(DispatchPause, input as DeepPartial<DispatchPause>);
  const plain = input as PauseInput;
  const target: DispatchPause["target"] =
    "slot" in plain
      ? { $case: "slot", value: plain.slot }
      : "concurrencyKey" in plain
        ? { $case: "concurrencyKey", value: plain.concurrencyKey }
        : { $case: "labelSelector", value: plain.labelSelector };
  return { id: plain.id, note: plain.note ?? "", target, createTime: undefined };
}

/**
 * DispatchService through the client's connection: `client.dispatch.pause(…)`, `resume(id)`, `list()`.
 * Pause and resume are not retried (a second call after a lost answer would fail with
 * DISPATCH_PAUSE_EXISTS or DISPATCH_PAUSE_NOT_FOUND; `list()` tells what holds); list is.
 */
export class Dispatch {
  constructor(
    /** The generated client, for what these methods do not cover. */
    readonly service: DispatchServiceClient,
    private readonly context: CallContext,
  ) {}

  private settings(settings: CallSettings = {}): CallSettings {
    return { deadlineMs: settings.deadlineMs ?? this.context.deadlineMs, signal: settings.signal };
  }

  private once<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, settings?: CallSettings): Promise<Res> {
    return unaryCall(method.bind(this.service), request, this.context.metadata, this.settings(settings));
  }

  /** Holds back the pending tasks the pause matches (running ones go on). Id taken: DISPATCH_PAUSE_EXISTS. */
  async pause(pause: PauseInput | DeepPartial<DispatchPause>, options?: CallSettings): Promise<DispatchPause> {
    return (await this.once(this.service.pauseDispatch, { pause: pauseOfInput(pause) }, options)).pause!;
  }

  /** Lifts a pause: its tasks are dispatched at once. Unknown id: DISPATCH_PAUSE_NOT_FOUND. */
  async resume(id: string, options?: CallSettings): Promise<DispatchPause> {
    return (await this.once(this.service.resumeDispatch, { id }, options)).pause!;
  }

  /** Every pause, by id. */
  async list(options?: CallSettings): Promise<DispatchPause[]> {
    const resolved = this.settings(options);
    const call = () =>
      unaryCall(this.service.listDispatchPauses.bind(this.service), {}, this.context.metadata, resolved);
    return (await withRetry(call, this.context.retry, resolved.signal)).pauses;
  }

  close(): void {
    this.service.close();
  }
}
