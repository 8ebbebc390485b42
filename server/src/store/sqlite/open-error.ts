/**
 * The database cannot be used: the server cannot start (disk read-only, full or missing; the file
 * damaged, foreign, or in use by another server). The message is one line naming the file.
 */
export class DatabaseOpenError extends Error {
  override readonly name: string = "DatabaseOpenError";
}

/** A failure to open `path` as one line naming it, with a hint when the disk looks at fault. */
export function cannotOpen(path: string, error: unknown, step = ""): DatabaseOpenError {
  const code = (error as { code?: string }).code ?? "";
  const message = (error as Error).message;
  const diskHint = /READONLY|CANTOPEN|FULL|IOERR|EACCES|EROFS|ENOSPC/.test(code + message)
    ? " (is its disk read-only, full or missing?)"
    : "";
  return new DatabaseOpenError(`cannot open the database ${path}: ${step}${message}${diskHint}`, { cause: error });
}
