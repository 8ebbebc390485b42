import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { JsonValue } from "@bufbuild/protobuf";

/** How a server stream goes out: server-sent events (the default) or newline-delimited JSON. */
export type StreamFormat = "sse" | "ndjson";

export const streamFormatOf = (accept: string | undefined): StreamFormat =>
  /application\/(x-)?ndjson|application\/jsonl/i.test(accept ?? "") ? "ndjson" : "sse";

const CONTENT_TYPE: Record<StreamFormat, string> = { sse: "text/event-stream", ndjson: "application/x-ndjson" };

/**
 * Headers wait for the first message (or the end) up to this long, so a stream that fails at once
 * (unknown task, bad revision) still answers with its HTTP status and a Status body; a stream with
 * nothing to say yet (following a task that has not started) answers 200 after it.
 */
const HEADERS_WAIT_MS = 1000;

/** An SSE comment this often while nothing else is sent, so proxies and browsers keep the connection. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Writes a stream of proto JSON messages. SSE: one event per message (`id:` = its resume position
 * when it has one, `data:` = the message), `event: error` with the google.rpc.Status when the stream
 * fails after it started, `event: end` when it ends well (an EventSource would reconnect otherwise).
 * NDJSON, as grpc-gateway streams: one `{"result": message}` per line, `{"error": status}` last on
 * failure. A full socket buffer holds the next message back (backpressure to the handler).
 */
export class EventStreamWriter {
  private headersSent = false;
  private readonly headersTimer: NodeJS.Timeout;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly response: ServerResponse,
    private readonly format: StreamFormat,
  ) {
    this.headersTimer = setTimeout(() => this.start(), HEADERS_WAIT_MS);
    this.headersTimer.unref();
    response.once("close", () => this.stopTimers());
  }

  /** Whether the 200 and its headers are out (after which an error can only go in the stream). */
  get started(): boolean {
    return this.headersSent;
  }

  private start(): void {
    if (this.headersSent || this.response.writableEnded) return;
    this.headersSent = true;
    clearTimeout(this.headersTimer);
    this.response.writeHead(200, {
      "content-type": CONTENT_TYPE[this.format],
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-accel-buffering": "no", // nginx: pass events on as they come
    });
    this.response.flushHeaders();
    if (this.format === "sse") {
      this.keepAlive = setInterval(() => this.response.write(": keep-alive\n\n"), KEEP_ALIVE_MS);
      this.keepAlive.unref();
    }
  }

  private stopTimers(): void {
    clearTimeout(this.headersTimer);
    if (this.keepAlive) clearInterval(this.keepAlive);
  }

  /** Writes one message; resolves when the socket can take more (or the client is gone). */
  async message(json: JsonValue, id?: string): Promise<void> {
    this.start();
    const text =
      this.format === "sse"
        ? `${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(json)}\n\n`
        : `${JSON.stringify({ result: json })}\n`;
    if (!this.response.write(text) && !this.response.destroyed) {
      // The losing wait is aborted: left behind, each full buffer would leave a listener on the response.
      const settled = new AbortController();
      const { signal } = settled;
      await Promise.race([once(this.response, "drain", { signal }), once(this.response, "close", { signal })]).finally(
        () => settled.abort(),
      );
    }
  }

  /** Ends the stream with a failure, after it started. */
  error(status: JsonValue): void {
    this.start();
    this.response.end(
      this.format === "sse"
        ? `event: error\ndata: ${JSON.stringify(status)}\n\n`
        : `${JSON.stringify({ error: status })}\n`,
    );
    this.stopTimers();
  }

  end(): void {
    this.start();
    this.response.end(this.format === "sse" ? "event: end\ndata: {}\n\n" : undefined);
    this.stopTimers();
  }
}
