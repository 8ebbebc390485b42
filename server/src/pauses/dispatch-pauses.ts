import type { DispatchPause } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { dispatchPauseExists, dispatchPauseNotFound, dispatchPausesFull } from "../errors.js";
import type { DispatchPauseStore } from "../store/backend.js";
import { validatePause, validatePauseId } from "../validation/dispatch-pause.js";

/** The most pauses stored: the leader matches every pending task it reaches against them. */
export const MAX_DISPATCH_PAUSES = 1000;

export interface DispatchPausesDeps {
  store: DispatchPauseStore;
  clock: Clock;
  /** A pause was made or lifted here: the leader (if this server leads) reads them again before the answer. */
  changed(): Promise<void>;
}

/**
 * What DispatchService does: validate, store, and have the leader apply it. With servers sharing the
 * database the store tells the others (the leader among them) after the change committed. The bound is
 * checked with a count before the insert: two servers racing at the bound may pass it by one each.
 */
export class DispatchPauses {
  constructor(private readonly deps: DispatchPausesDeps) {}

  async pause(request: DispatchPause | undefined): Promise<DispatchPause> {
    const pause = validatePause(request, this.deps.clock.now());
    if ((await this.deps.store.count()) >= MAX_DISPATCH_PAUSES) throw dispatchPausesFull(MAX_DISPATCH_PAUSES);
    if (!(await this.deps.store.create(pause))) throw dispatchPauseExists(pause.id);
    await this.deps.changed();
    return pause;
  }

  async resume(id: string): Promise<DispatchPause> {
    validatePauseId(id, "id");
    const pause = await this.deps.store.get(id);
    if (!pause || !(await this.deps.store.delete(id))) throw dispatchPauseNotFound(id);
    await this.deps.changed();
    return pause;
  }

  list(): Promise<DispatchPause[]> {
    return this.deps.store.list();
  }
}
