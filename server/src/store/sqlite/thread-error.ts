import type { ThreadError } from "./writer-thread.js";

/** The writer thread's error as an Error again, with its SQLite code (errors.ts translates by code). */
export function threadError({ name, message, code }: ThreadError): Error {
  const error = new Error(message) as Error & { code?: string };
  error.name = name;
  if (code !== undefined) error.code = code;
  return error;
}
