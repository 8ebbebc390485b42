import { storeUnavailable } from "../../errors.js";

/** SQLite errors that mean "the disk, not the request": retryable once space or permissions return. */
const UNAVAILABLE_CODES = ["SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_CANTOPEN"];

/** A SQLite failure as the rest of the server sees it: STORE_UNAVAILABLE when the disk is at fault. */
export function translate(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && UNAVAILABLE_CODES.some((c) => code.startsWith(c))) {
    const domain = storeUnavailable(code);
    (domain as { cause?: unknown }).cause = error;
    return domain;
  }
  return error;
}

/** Runs a SQLite call, translating its failure. */
export function guarded<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw translate(error);
  }
}
