import { ErrorReason } from "@supervisor/sdk";
import { z } from "zod";
import { invalidArgument } from "../errors.js";

// The cursor is a task id or a runner name (up to 253 characters).
const tokenSchema = z.object({ v: z.literal(1), after: z.string().min(1).max(300), filter: z.string() });

/**
 * Page tokens are opaque to clients: base64url JSON of the keyset cursor and
 * the fingerprint of the filter they were issued for, so a token replayed
 * with another filter is refused instead of silently skipping rows.
 */
export function encodePageToken(after: string, filterKey: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after, filter: filterKey })).toString("base64url");
}

/** The cursor of a token; undefined for the first page. Throws PAGE_TOKEN_INVALID. */
export function decodePageToken(token: string, filterKey: string, field = "page_token"): string | undefined {
  if (!token) return undefined;
  let parsed: z.infer<typeof tokenSchema>;
  try {
    parsed = tokenSchema.parse(JSON.parse(Buffer.from(token, "base64url").toString("utf8")));
  } catch {
    throw invalidArgument(
      [{ field, description: "not a page token issued by this server" }],
      ErrorReason.PAGE_TOKEN_INVALID,
    );
  }
  if (parsed.filter !== filterKey) {
    throw invalidArgument(
      [{ field, description: "this token was issued for a different filter; list again from the first page" }],
      ErrorReason.PAGE_TOKEN_INVALID,
    );
  }
  return parsed.after;
}

/**
 * A cursor that is a whole number (ListTaskRuns: the last attempt sent); 0 for the first page. A forged
 * cursor that is not one is PAGE_TOKEN_INVALID (compared as a number, NaN would match nothing on SQLite
 * and fail the statement on PostgreSQL).
 */
export function decodeNumberPageToken(token: string, filterKey: string, field = "page_token"): number {
  const after = decodePageToken(token, filterKey, field);
  if (after === undefined) return 0;
  const value = Number(after);
  if (!/^\d+$/.test(after) || !Number.isSafeInteger(value)) {
    throw invalidArgument(
      [{ field, description: "not a page token issued by this server" }],
      ErrorReason.PAGE_TOKEN_INVALID,
    );
  }
  return value;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** AIP-158: 0 → default, above the maximum → the maximum, negative → error. */
export function pageSizeOf(pageSize: number, field = "page_size"): number {
  if (pageSize < 0) throw invalidArgument([{ field, description: "must not be negative" }]);
  if (pageSize === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(pageSize, MAX_PAGE_SIZE);
}
