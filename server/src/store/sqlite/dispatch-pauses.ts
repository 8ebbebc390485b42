import type { DispatchPause } from "@supervisor/sdk";
import type { DispatchPauseStore } from "../backend.js";
import { pauseOf, pauseValues } from "../pause-rows.js";
import { guarded } from "./errors.js";
import type { Db } from "./open.js";
import { countDispatchPauses, getDispatchPause, listDispatchPauses } from "./queries/dispatch-pauses.js";
import type { CommitOne } from "./schedules.js";
import { W } from "./write-statements.js";

/**
 * The dispatch_pauses table of a SQLite file: each write one statement committed on its own by the writer
 * that holds the file's write lock; reads one statement each on the backend's read connection.
 */
export class SqliteDispatchPauses implements DispatchPauseStore {
  constructor(
    private readonly db: Db,
    private readonly commit: CommitOne,
  ) {}

  async create(pause: DispatchPause): Promise<boolean> {
    return (await this.commit([W.insertDispatchPause, pauseValues(pause)])) === 1;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.commit([W.deleteDispatchPause, [id]])) === 1;
  }

  async get(id: string): Promise<DispatchPause | undefined> {
    return guarded(() => {
      const row = getDispatchPause(this.db, id);
      return row && pauseOf(row);
    });
  }

  async list(): Promise<DispatchPause[]> {
    return guarded(() => listDispatchPauses(this.db).map(pauseOf));
  }

  async count(): Promise<number> {
    return guarded(() => countDispatchPauses(this.db));
  }

  /** Alone on its file: no other server changes a pause. */
  onChanged(): () => void {
    return () => {};
  }
}
