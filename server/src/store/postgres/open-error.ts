import { DatabaseOpenError } from "../open-error.js";

const HINTS: [RegExp, string][] = [
  [/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT)$|timeout/, "is PostgreSQL running and reachable there?"],
  [/^3D000$/, "create it first with createdb, or name another database in the URL"],
  [/^(28P01|28000)$/, "check the user and password in the URL"],
  [/^42501$/, "the user needs to create tables in its schema"],
];

/** A failure to open the database at `where` (a URL without its password) as one line naming it, with a hint. */
export function cannotOpen(where: string, error: unknown): DatabaseOpenError {
  if (error instanceof DatabaseOpenError) return error;
  const code = String((error as { code?: unknown }).code ?? "");
  const message = (error as Error).message || code || String(error);
  const hint = HINTS.find(([pattern]) => pattern.test(code) || pattern.test(message))?.[1];
  return new DatabaseOpenError(`cannot open the database ${where}: ${message}${hint ? ` (${hint})` : ""}`, {
    cause: error,
  });
}
