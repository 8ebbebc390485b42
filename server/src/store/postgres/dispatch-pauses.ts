import type { DispatchPause } from "@supervisor/sdk";
import type { DispatchPauseStore } from "../backend.js";
import { pauseOf } from "../pause-rows.js";
import { ChangeNotices } from "./change-notices.js";
import { guarded } from "./errors.js";
import { holdsNul } from "./nul.js";
import {
  countDispatchPauses,
  deleteDispatchPause,
  getDispatchPause,
  insertDispatchPause,
  listDispatchPauses,
} from "./queries/dispatch-pauses.js";
import { CHANNELS } from "./queries/notify.js";
import type { Queryable } from "./statement.js";

/**
 * The dispatch_pauses table, each call one statement on the pool, committed on its own (a pause moves no
 * revision). With servers sharing the database a change is told to the others after it committed
 * (CHANNELS.dispatchPauses), so the leader, wherever it is, reads the pauses again at once.
 */
export class PostgresDispatchPauses implements DispatchPauseStore {
  private readonly notices: ChangeNotices;

  constructor(
    private readonly db: Queryable,
    serverId: string,
    shared: boolean,
  ) {
    this.notices = new ChangeNotices(db, CHANNELS.dispatchPauses, serverId, shared);
  }

  create(pause: DispatchPause): Promise<boolean> {
    return this.told(guarded(() => insertDispatchPause(this.db, pause)));
  }

  delete(id: string): Promise<boolean> {
    if (holdsNul(id)) return Promise.resolve(false);
    return this.told(guarded(() => deleteDispatchPause(this.db, id)));
  }

  get(id: string): Promise<DispatchPause | undefined> {
    if (holdsNul(id)) return Promise.resolve(undefined);
    return guarded(async () => {
      const found = await getDispatchPause(this.db, id);
      return found && pauseOf(found);
    });
  }

  list(): Promise<DispatchPause[]> {
    return guarded(async () => (await listDispatchPauses(this.db)).map(pauseOf));
  }

  count(): Promise<number> {
    return guarded(() => countDispatchPauses(this.db));
  }

  onChanged(listener: () => void): () => void {
    return this.notices.onChanged(listener);
  }

  /** Another server's change (its notification, or LISTEN back after a gap). */
  changedElsewhere(): void {
    this.notices.changedElsewhere();
  }

  private told(change: Promise<boolean>): Promise<boolean> {
    return this.notices.told(change);
  }
}
