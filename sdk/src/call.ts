import type { CallOptions, ClientReadableStream, Metadata, ServiceError } from "@grpc/grpc-js";
import { SupervisorError } from "./errors.js";

/** Per-call options every SDK method takes. */
export interface CallSettings {
  /** Deadline of one attempt, in ms from now. */
  deadlineMs?: number;
  /** Cancels the call (and any retry) when aborted. */
  signal?: AbortSignal;
}

/** A generated client's unary method, bound to its client. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => { cancel(): void };

/** One unary attempt as a promise: deadline, cancellation by signal, errors as SupervisorError. */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  settings: CallSettings,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (settings.signal?.aborted) return reject(SupervisorError.from(settings.signal.reason ?? new Error("aborted")));
    const options: Partial<CallOptions> = settings.deadlineMs
      ? { deadline: new Date(Date.now() + settings.deadlineMs) }
      : {};
    const onAbort = () => call.cancel();
    const call = method(request, metadata, options, (error, response) => {
      settings.signal?.removeEventListener("abort", onAbort);
      if (error) reject(SupervisorError.from(error));
      else resolve(response);
    });
    settings.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A server stream as an async iterator; stopping early or aborting cancels the call. Errors are SupervisorErrors. */
export async function* streamCall<T>(stream: ClientReadableStream<T>, signal?: AbortSignal): AsyncGenerator<T> {
  const onAbort = () => stream.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const message of stream as AsyncIterable<T>) yield message;
  } catch (error) {
    if (signal?.aborted) return;
    throw SupervisorError.from(error);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stream.cancel();
  }
}
