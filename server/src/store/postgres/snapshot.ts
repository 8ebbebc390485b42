import type { ReadKeys, Snapshot } from "../backend.js";
import { rateKeyOf } from "../rate-key-rows.js";
import { rateKeysByKeys } from "./queries/rate-keys.js";
import {
  idempotencyKeysByIds,
  runnersByNames,
  runsByIds,
  slotOwners,
  slotQueueCounts,
  slotQueuesOldest,
  tasksByIds,
} from "./queries/snapshot-reads.js";
import { decodeRun, decodeRunner, idempotencyKeyOf, storedTask } from "./rows.js";
import type { Queryable } from "./statement.js";

const DEFAULT_QUEUE_DEPTH = 2;

const unique = (keys: Iterable<string> | undefined): string[] => (keys ? [...new Set(keys)] : []);

/** Each key asked for maps to null until a row is found for it. */
function absent<V>(keys: readonly string[]): Map<string, V | null> {
  return new Map(keys.map((key) => [key, null]));
}

/**
 * What a write batch reads before it decides, in one round trip: one statement per kind of key,
 * all sent before any answer is awaited (the connection is pipelined).
 */
export async function readSnapshot(db: Queryable, keys: ReadKeys): Promise<Snapshot> {
  const ids = unique(keys.tasks);
  const owned = unique(keys.slotOwners);
  const queued = unique(keys.slotQueues);
  const requestIds = unique(keys.idempotencyKeys);
  const runIds = unique(keys.runs);
  const names = unique(keys.runnerNames);
  const rateKeys = unique(keys.rateKeys);
  const depth = keys.slotQueueDepth ?? DEFAULT_QUEUE_DEPTH;
  const none = Promise.resolve([]);
  const [tasks, owners, counts, oldest, idempotencyKeys, runs, runners, keyRows] = await Promise.all([
    ids.length > 0 ? tasksByIds(db, ids) : none,
    owned.length > 0 ? slotOwners(db, owned) : none,
    queued.length > 0 ? slotQueueCounts(db, queued) : none,
    queued.length > 0 ? slotQueuesOldest(db, queued, depth) : none,
    requestIds.length > 0 ? idempotencyKeysByIds(db, requestIds) : none,
    runIds.length > 0 ? runsByIds(db, runIds) : none,
    names.length > 0 ? runnersByNames(db, names) : none,
    rateKeys.length > 0 ? rateKeysByKeys(db, rateKeys) : none,
  ]);
  const snapshot: Snapshot = {
    tasks: absent(ids),
    slotOwners: absent(owned),
    slotQueues: new Map(queued.map((slot) => [slot, { count: 0, oldest: [] }])),
    idempotencyKeys: absent(requestIds),
    runs: absent(runIds),
    runnerNames: absent(names),
    runnerServers: new Map(),
    rateKeys: absent(rateKeys),
  };
  for (const row of tasks) snapshot.tasks.set(row.id, storedTask(row));
  for (const row of owners) snapshot.slotOwners.set(row.slot!, storedTask(row));
  for (const { slot, n } of counts) snapshot.slotQueues.get(slot)!.count = n;
  for (const row of oldest) snapshot.slotQueues.get(row.slot!)!.oldest.push(storedTask(row));
  for (const row of idempotencyKeys) snapshot.idempotencyKeys.set(row.request_id, idempotencyKeyOf(row));
  for (const row of runs) snapshot.runs.set(row.id, decodeRun(row));
  for (const row of runners) {
    snapshot.runnerNames.set(row.name, decodeRunner(row));
    snapshot.runnerServers.set(row.name, row.server_id);
  }
  for (const row of keyRows) snapshot.rateKeys.set(row.key, rateKeyOf(row));
  return snapshot;
}
