import { storeUnavailable } from "../../errors.js";

/**
 * SQLSTATE classes and codes that mean "the database, not the request": retryable once PostgreSQL
 * is back, has room, or has let go. 08 connection exception, 53 insufficient resources (disk full,
 * out of memory, too many connections), 57P0x shutdown and start-up, 58 system (I/O) errors,
 * 40001/40P01 serialization failure and deadlock, 25006 a read-only (standby) server.
 */
const UNAVAILABLE_SQLSTATES = /^(08|53|58|57P0[1-3]|40001|40P01|25006)/;

/** Node's words for a socket that cannot reach or lost the server. */
const UNAVAILABLE_SYSCALL = /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/;

/** pg's own words for a connection that ended under a query (it gives these no code). */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i;

/** Why a failure means the store is unavailable ("postgres 57P01", "ECONNREFUSED"), or undefined. */
export function unavailableCause(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (UNAVAILABLE_SQLSTATES.test(code)) return `postgres ${code}`;
    if (UNAVAILABLE_SYSCALL.test(code)) return code;
  }
  if (error instanceof Error && UNAVAILABLE_MESSAGE.test(error.message)) return "postgres connection lost";
  return undefined;
}

/** A PostgreSQL failure as the rest of the server sees it: STORE_UNAVAILABLE when the database is at fault. */
export function translate(error: unknown): unknown {
  const cause = unavailableCause(error);
  if (cause === undefined) return error;
  const domain = storeUnavailable(cause);
  (domain as { cause?: unknown }).cause = error;
  return domain;
}

/** Runs a database call, translating its failure. */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error);
  }
}
