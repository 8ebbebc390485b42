/**
 * PostgreSQL's text cannot hold U+0000 (a query that binds one fails); SQLite's can, and compares it as the
 * byte 0. Nothing stored holds one (ids, slots and names are validated before they are written), but filter
 * values and cursors come from clients — a page token is theirs to forge. These give such a value the meaning it
 * has on SQLite, so both backends answer alike instead of this one failing.
 */
const NUL = "\u0000";

/** A value holding U+0000: equal to nothing stored, and no stored value starts with it. */
export const holdsNul = (value: string | undefined): boolean => value?.includes(NUL) ?? false;

/**
 * The bound for `column < cursor`. A cursor "p\0…" is above "p" and below every other string that starts with
 * "p"; for values without U+0000 that is `column < "p\u0001"`.
 */
export function belowCursor(cursor: string): string {
  const at = cursor.indexOf(NUL);
  return at === -1 ? cursor : `${cursor.slice(0, at)}\u0001`;
}

/** The bound for `column > cursor`: for values without U+0000, above "p\0…" is above "p". */
export function aboveCursor(cursor: string): string {
  const at = cursor.indexOf(NUL);
  return at === -1 ? cursor : cursor.slice(0, at);
}
