import type { Config } from "../config.js";
import type { Clock } from "../core/clock.js";
import type { StorageBackend } from "./backend.js";
import { SqliteBackend } from "./sqlite/backend.js";

/** The backend the configuration names: a file path is SQLite (the embedded default). */
export async function openBackend(config: Config, clock: Clock): Promise<StorageBackend> {
  return SqliteBackend.open(config.db, { synchronous: config.synchronous }, clock);
}
