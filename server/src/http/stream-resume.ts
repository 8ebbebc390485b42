import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/** A server stream a client can resume: which request field takes the position, and where events carry it. */
interface Resumable {
  /** The request field set from Last-Event-ID (proto name). */
  field: string;
  /** Request fields a resume replaces (proto names): WatchTasks' send_initial would ignore since_revision. */
  cleared: string[];
  /** The position an event carries, as its SSE id; undefined for events that carry none. */
  eventId(event: JsonObject): string | undefined;
}

const position = (value: JsonValue | undefined) =>
  typeof value === "string" || typeof value === "number" ? String(value) : undefined;

/**
 * The streams resumable with SSE's Last-Event-ID: a client (EventSource does it by itself) that
 * reconnects with the last `id:` it saw gets what came after it, with no gap and no repeat.
 */
const RESUMABLE: Record<string, Resumable> = {
  "supervisor.v1.TaskService/WatchTasks": {
    field: "since_revision",
    cleared: ["send_initial"],
    eventId: (event) => position(event.revision),
  },
  "supervisor.v1.TaskService/StreamTaskOutput": {
    field: "since_seq",
    cleared: [],
    eventId: (event) => position((event.chunk as JsonObject | undefined)?.seq),
  },
};

export const resumableOf = (rpc: string): Resumable | undefined => RESUMABLE[rpc];

const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The query with the stream's position taken from Last-Event-ID (over whatever the query said). */
export function resumeQuery(resumable: Resumable, query: URLSearchParams, lastEventId: string): void {
  for (const name of [resumable.field, ...resumable.cleared]) {
    query.delete(name);
    query.delete(camel(name));
  }
  query.set(resumable.field, lastEventId);
}
