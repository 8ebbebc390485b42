// Server streams (watch, output) read with fetch's streaming body as server-sent events: EventSource
// cannot send an Authorization header. A dropped connection is resumed from the last event's id
// (Last-Event-ID), so nothing is missed or repeated.
import { ApiError, authHeaders, failure, type Json } from "./api";

export interface StreamHandlers {
  message(message: Json): void;
  /** The stream ended well (`event: end`). */
  end?(): void;
  /** The stream failed for good (an error status, or an `event: error`); it is not retried. */
  error?(error: ApiError): void;
  /** The connection dropped and will be retried (the page may say it is reconnecting). */
  dropped?(): void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

/** Opens `path` as an SSE stream; returns a function that closes it. */
export function openStream(path: string, handlers: StreamHandlers): () => void {
  const controller = new AbortController();
  let lastId: string | undefined;
  let retryMs = RETRY_MIN_MS;

  async function connect(): Promise<void> {
    const headers: Record<string, string> = { ...authHeaders(), accept: "text/event-stream" };
    if (lastId !== undefined) headers["last-event-id"] = lastId;
    const response = await fetch(path, { headers, signal: controller.signal });
    if (!response.ok) {
      const error = await failure(response);
      if (response.status >= 500) throw error; // the server is restarting: retried
      handlers.error?.(error);
      return;
    }
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream closed before its end");
      retryMs = RETRY_MIN_MS;
      buffer += value;
      let boundary = buffer.indexOf("\n\n");
      while (boundary >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf("\n\n");
        let event = "message";
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue; // keep-alive comment
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = text;
          else if (field === "id") id = text;
          else if (field === "data") data.push(text);
        }
        if (data.length === 0) continue;
        const json = JSON.parse(data.join("\n"));
        if (event === "end") {
          handlers.end?.();
          return;
        }
        if (event === "error") {
          handlers.error?.(ApiError.of(200, json));
          return;
        }
        if (id !== undefined) lastId = id;
        handlers.message(json);
      }
    }
  }

  (async () => {
    while (!controller.signal.aborted) {
      try {
        await connect();
        return;
      } catch {
        if (controller.signal.aborted) return;
        handlers.dropped?.();
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
    }
  })();
  return () => controller.abort();
}
