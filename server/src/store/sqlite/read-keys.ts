import type { ReadKeys, Snapshot } from "../backend.js";
import { rateKeyOf } from "../rate-key-rows.js";
import { decodeRun, decodeRunner, idempotencyKeyOf, storedTask } from "../rows.js";
import type { Db } from "./open.js";
import { rateKeysByKeys } from "./queries/rate-keys.js";
import {
  idempotencyKeysByIds,
  runnersByNames,
  runsByIds,
  slotOwners,
  slotQueueCount,
  slotQueueOldest,
  tasksByIds,
} from "./queries/snapshot-reads.js";

const DEFAULT_QUEUE_DEPTH = 2;

const unique = (keys: Iterable<string> | undefined): string[] => (keys ? [...new Set(keys)] : []);

/** What a transaction asked for, read on the backend's connection (no commit runs while it reads). */
export function readKeys(db: Db, keys: ReadKeys): Snapshot {
  const snapshot: Snapshot = {
    tasks: new Map(),
    slotOwners: new Map(),
    slotQueues: new Map(),
    idempotencyKeys: new Map(),
    runs: new Map(),
    runnerNames: new Map(),
    runnerServers: new Map(),
    rateKeys: new Map(),
  };
  const ids = unique(keys.tasks);
  if (ids.length > 0) {
    for (const id of ids) snapshot.tasks.set(id, null);
    for (const row of tasksByIds(db, ids)) snapshot.tasks.set(row.id, storedTask(row));
  }
  const owned = unique(keys.slotOwners);
  if (owned.length > 0) {
    for (const slot of owned) snapshot.slotOwners.set(slot, null);
    for (const row of slotOwners(db, owned)) snapshot.slotOwners.set(row.slot!, storedTask(row));
  }
  const depth = keys.slotQueueDepth ?? DEFAULT_QUEUE_DEPTH;
  for (const slot of unique(keys.slotQueues)) {
    const count = slotQueueCount(db, slot);
    snapshot.slotQueues.set(slot, {
      count,
      oldest: count > 0 ? slotQueueOldest(db, slot, depth).map(storedTask) : [],
    });
  }
  const requestIds = unique(keys.idempotencyKeys);
  if (requestIds.length > 0) {
    for (const id of requestIds) snapshot.idempotencyKeys.set(id, null);
    for (const row of idempotencyKeysByIds(db, requestIds))
      snapshot.idempotencyKeys.set(row.request_id, idempotencyKeyOf(row));
  }
  const runIds = unique(keys.runs);
  if (runIds.length > 0) {
    for (const id of runIds) snapshot.runs.set(id, null);
    for (const row of runsByIds(db, runIds)) snapshot.runs.set(row.id, decodeRun(row));
  }
  const names = unique(keys.runnerNames);
  if (names.length > 0) {
    for (const name of names) snapshot.runnerNames.set(name, null);
    for (const row of runnersByNames(db, names)) {
      snapshot.runnerNames.set(row.name, decodeRunner(row));
      snapshot.runnerServers.set(row.name, row.server_id);
    }
  }
  const rateKeys = unique(keys.rateKeys);
  if (rateKeys.length > 0) {
    for (const key of rateKeys) snapshot.rateKeys.set(key, null);
    for (const row of rateKeysByKeys(db, rateKeys)) snapshot.rateKeys.set(row.key, rateKeyOf(row));
  }
  return snapshot;
}
