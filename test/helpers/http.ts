import { ERROR_INFO_TYPE } from "@supervisor/sdk";
import { expect } from "vitest";

/** A proto JSON answer, read field by field in the tests. */
export type Json = any;

export interface HttpAnswer {
  status: number;
  headers: Headers;
  json: Json;
}

export interface HttpOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

/** One HTTP request to the HTTP API with real fetch; the body (if any) sent as JSON. */
export async function http(base: string, method: string, path: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  const response = await fetch(base + path, {
    method,
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

/** The ErrorInfo of a google.rpc.Status JSON body. */
export const errorInfoOf = (status: Json) => (status?.details ?? []).find((d: Json) => d["@type"] === ERROR_INFO_TYPE);

/** Asserts an error answer: HTTP status, the Status code, and ErrorInfo reason and domain. */
export function expectHttpError(answer: HttpAnswer, httpStatus: number, code: number, reason: string): Json {
  expect({ status: answer.status, code: answer.json?.code, reason: errorInfoOf(answer.json)?.reason }).toEqual({
    status: httpStatus,
    code,
    reason,
  });
  expect(errorInfoOf(answer.json).domain).toBe("supervisor.v1");
  expect(answer.headers.get("content-type")).toBe("application/json");
  return answer.json;
}

export interface SseEvent {
  event: string;
  id?: string;
  data: Json;
}

/**
 * Reads server-sent events from a streaming fetch response until `enough(events)` says so or the
 * stream ends, then cancels the body. Parses the text/event-stream format (comments skipped).
 */
export async function readSse(response: Response, enough: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (!enough(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const event: SseEvent = { event: "message", data: undefined };
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = line.slice(0, colon);
          const text = line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event.event = text;
          else if (field === "id") event.id = text;
          else if (field === "data") data.push(text);
        }
        if (data.length === 0) continue;
        event.data = JSON.parse(data.join("\n"));
        events.push(event);
        if (enough(events)) break;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return events;
}

/** Reads NDJSON lines from a streaming fetch response until `enough(lines)` or the end. */
export async function readNdjson(response: Response, enough: (lines: Json[]) => boolean): Promise<Json[]> {
  const lines: Json[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (!enough(lines)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf("\n");
      while (end >= 0 && !enough(lines)) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        end = buffer.indexOf("\n");
        if (line) lines.push(JSON.parse(line));
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return lines;
}
