import { DatabaseOpenError } from "../open-error.js";

/** A failure to open `path` as one line naming it, with a hint when the disk looks at fault. */
export function cannotOpen(path: string, error: unknown, step = ""): DatabaseOpenError {
  const code = (error as { code?: string }).code ?? "";
  const message = (error as Error).message;
  const diskHint = /READONLY|CANTOPEN|FULL|IOERR|EACCES|EROFS|ENOSPC/.test(code + message)
    ? " (is its disk read-only, full or missing?)"
    : "";
  return new DatabaseOpenError(`cannot open the database ${path}: ${step}${message}${diskHint}`, { cause: error });
}
