/** A database setting that names a PostgreSQL server rather than a SQLite file. */
export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/** The URL as logs and messages may show it: the password, if any, replaced by "***". */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = "***";
    return parsed.toString();
  } catch {
    // Not parseable as a URL: show only the scheme and host part, never what might be a password.
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}
