/**
 * The database cannot be used: the server cannot start (disk read-only, full or missing; the file
 * damaged, foreign, or in use by another server). The message is one line naming the database.
 * Every backend throws it from its open; `supervisor serve` turns it into that line and exit 1.
 */
export class DatabaseOpenError extends Error {
  override readonly name: string = "DatabaseOpenError";
}
