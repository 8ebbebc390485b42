/**
 * Advisory lock keys (pg_advisory_lock(key1, key2)): the first names this program, the second the
 * lock. Advisory locks are per database, so every supervisor database has its own.
 */
export const LOCK_NAMESPACE = 0x53555056; // "SUPV"
/** Held by the one server that owns the database (a session lock on its writer connection). */
export const WRITER_LOCK = 1;
/** Held while migrations are checked and applied (a transaction lock), so servers starting together take turns. */
export const MIGRATION_LOCK = 2;
