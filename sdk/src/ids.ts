/** A task, run or runner id: a lowercase UUID (the supervisor's are UUIDv7, so they sort by creation time). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What TaskFilter.id_prefix accepts: the start of an id, 1 to 36 hex digits and dashes. */
export const ID_PREFIX_PATTERN = /^[0-9a-fA-F-]{1,36}$/;
