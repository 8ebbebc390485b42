import { ServerInterceptingCall, type ServerInterceptor, status } from "@grpc/grpc-js";

/** One call as the server received it. */
export interface ReceivedCall {
  /** The method's name, e.g. "BatchSubmitTasks". */
  method: string;
  /** The decoded request. */
  request?: unknown;
  /** The deadline the client set (ms since the epoch), or Infinity. */
  deadline: number;
  /** The status code the server answered with, once it did. */
  code?: status;
  /** The client cancelled the call before the server answered it. */
  cancelled: boolean;
}

export interface CallRecorder {
  /** Give to the server: `startTestServer({}, { interceptors: [recorder.interceptor] })`. */
  interceptor: ServerInterceptor;
  calls: ReceivedCall[];
  /** How many calls of each method arrived, e.g. `{ BatchSubmitTasks: 1 }`. */
  counts(): Record<string, number>;
  /** Called with each request as it arrives, before the handler sees it; may return a changed request. */
  onRequest?: (call: ReceivedCall) => unknown;
  /** Called when the client cancels a call. */
  onCancel?: (call: ReceivedCall) => void;
  /** The server's answer to the next `n` calls of `method` is dropped and replaced with UNAVAILABLE. */
  loseAnswers(method: string, n: number): void;
}

/**
 * Observes the calls a real server receives, through grpc-js's own server
 * interceptors: which methods, with which requests and deadlines. It can also
 * drop an answer after the handler ran (a reply lost on the way), to show what
 * a client's retry does with work the server has already done.
 */
export function recordCalls(): CallRecorder {
  const losing = new Map<string, number>();
  const recorder: CallRecorder = {
    calls: [],
    counts: () => {
      const counts: Record<string, number> = {};
      for (const call of recorder.calls) counts[call.method] = (counts[call.method] ?? 0) + 1;
      return counts;
    },
    loseAnswers: (method, n) => losing.set(method, n),
    interceptor: (descriptor, next) => {
      const received: ReceivedCall = {
        method: descriptor.path.split("/").pop()!,
        deadline: Number(next.getDeadline()),
        cancelled: false,
      };
      recorder.calls.push(received);
      const lose = (losing.get(received.method) ?? 0) > 0;
      if (lose) losing.set(received.method, losing.get(received.method)! - 1);
      return new ServerInterceptingCall(next, {
        start: (startNext) =>
          startNext({
            onReceiveMessage: (message, messageNext) => {
              received.request = message;
              const changed = recorder.onRequest?.(received);
              messageNext(changed ?? message);
            },
            // grpc-js reports every closed stream as cancelled, answered or not.
            onCancel: () => {
              if (received.code !== undefined) return;
              received.cancelled = true;
              recorder.onCancel?.(received);
            },
          }),
        sendMessage: (message, messageNext) => {
          if (!lose) return messageNext(message);
          received.code = status.UNAVAILABLE;
          next.sendStatus({ code: status.UNAVAILABLE, details: "the answer was lost (test)" });
        },
        sendStatus: (answer, statusNext) => {
          received.code = answer.code;
          statusNext(answer);
        },
      });
    },
  };
  return recorder;
}
