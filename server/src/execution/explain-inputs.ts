import { type DispatchPause, RunnerState, Task, TaskPhase } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { type ConcurrencyLimits, concurrencyKeysOf } from "../core/concurrency.js";
import type { ExplainInputs, RunnerView } from "../core/explain.js";
import { type RateLimits, rateKeysOf } from "../core/rate-limit.js";
import type { RateKeyRecord, StorageBackend, StoredRunner, StoredTask } from "../store/backend.js";
import type { ExecutionEngine } from "./engine.js";
import { PauseRules } from "./pause-rules.js";
import { liveServers } from "./remote-runners.js";
import type { RunnerTarget } from "./runner-target.js";

export interface ExplainSources {
  backend: StorageBackend;
  engine: ExecutionEngine;
  /** The server's limits per concurrency key (config concurrencyLimits). */
  limits: ConcurrencyLimits;
  /** The server's rates per rate-limit key (config rateLimits). */
  rates: RateLimits;
  clock: Clock;
}

/** Running tasks read per page, and at most, when a server that does not lead counts runs from the store. */
const SCAN_PAGE = 1_000;
const SCAN_MOST = 10_000;
/** Runner records read per page. */
const RUNNERS_PAGE = 1_000;

/** What runners have and keys hold, as this server knows it. */
interface Counts {
  runners: RunnerView[];
  /** undefined: not counted here (too many running tasks to read from the store). */
  keyRunning?: Map<string, number>;
}

/**
 * What ExplainTask decides from, read on whichever server is asked. The leader knows from memory what
 * dispatch knows: every runner (its own and the other servers'), the runs on each, the runs holding each
 * key. A server that does not lead reads them from the store: its own runners from memory, the others'
 * records from the runners table (held by a live server), the runs of each runner and key from the
 * RUNNING tasks (up to SCAN_MOST of them; beyond, runner counts are the records' and keys are not
 * counted). Pauses and the slot's owner are read from the store on every server.
 */
export async function explainInputs(sources: ExplainSources, stored: StoredTask): Promise<ExplainInputs> {
  const { backend, engine } = sources;
  const { task } = stored;
  const pending = task.status!.phase === TaskPhase.TASK_PHASE_PENDING;
  const [counts, pauses, slotHolder, keyStates] = await Promise.all([
    engine.leading ? leaderCounts(engine, task) : storeCounts(backend, engine, task),
    pending ? holdingPauses(backend, task) : [],
    pending ? slotHolderOf(backend, stored) : undefined,
    pending ? keyStatesOf(backend, task) : new Map(),
  ]);
  const { limits, rates } = sources;
  return { task, nowMs: sources.clock.now(), pauses, slotHolder, limits, rates, keyStates, ...counts };
}

const viewOf = (runner: RunnerTarget | StoredRunner["runner"], running: number, draining: boolean): RunnerView => ({
  id: runner.id,
  name: runner.name,
  labels: runner.labels,
  kinds: runner.kinds,
  capacity: runner.capacity,
  running,
  draining,
});

/** A runner dispatch knows, if it is connected (a session within its lease, or one whose server died, is not). */
function connectedView(target: RunnerTarget): RunnerView | undefined {
  if (target.remote) {
    const state = target.record.state;
    if (!target.holderLive || state === RunnerState.RUNNER_STATE_DISCONNECTED) return undefined;
    return viewOf(target, target.running, state === RunnerState.RUNNER_STATE_DRAINING);
  }
  return target.channel ? viewOf(target, target.running, target.draining) : undefined;
}

function leaderCounts(engine: ExecutionEngine, task: Task): Counts {
  const runners: RunnerView[] = [];
  for (const target of engine.dispatcher.index.knownRunners()) {
    const view = connectedView(target);
    if (view) runners.push(view);
  }
  const keys = concurrencyKeysOf(task.spec);
  return { runners, keyRunning: new Map(keys.map((key) => [key, engine.tracker.holdingKey(key)])) };
}

async function storeCounts(backend: StorageBackend, engine: ExecutionEngine, task: Task): Promise<Counts> {
  const [records, live, scan] = await Promise.all([runnerRecords(backend), liveServers(backend), runningScan(backend)]);
  const runners: RunnerView[] = [];
  const here = new Set<string>();
  for (const session of engine.registry.all()) {
    if (!session.channel) continue;
    here.add(session.id);
    runners.push(viewOf(session, session.running, session.draining));
  }
  for (const { runner, serverId } of records) {
    if (here.has(runner.id) || serverId === null || serverId === backend.serverId || !live.has(serverId)) continue;
    const draining = runner.state === RunnerState.RUNNER_STATE_DRAINING;
    if (runner.state !== RunnerState.RUNNER_STATE_CONNECTED && !draining) continue;
    const running = scan.complete ? (scan.byRunner.get(runner.id) ?? 0) : runner.running;
    runners.push(viewOf(runner, running, draining));
  }
  if (!scan.complete) return { runners };
  const keys = concurrencyKeysOf(task.spec);
  return { runners, keyRunning: new Map(keys.map((key) => [key, scan.byKey.get(key) ?? 0])) };
}

async function runnerRecords(backend: StorageBackend): Promise<StoredRunner[]> {
  const records: StoredRunner[] = [];
  for (let after = ""; ; ) {
    const page = await backend.listRunners(after, RUNNERS_PAGE);
    records.push(...page);
    if (page.length < RUNNERS_PAGE) return records;
    after = page.at(-1)!.runner.name;
  }
}

const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

/** The runs of each runner and of each key, from the RUNNING tasks that have a run (a fan-out parent has none). */
async function runningScan(backend: StorageBackend) {
  const byRunner = new Map<string, number>();
  const byKey = new Map<string, number>();
  let beforeId: string | undefined;
  for (let scanned = 0; ; ) {
    const page = await backend.listTasks({ phases: [TaskPhase.TASK_PHASE_RUNNING], beforeId, limit: SCAN_PAGE });
    for (const { encoded } of page.items) {
      const running = Task.decode(encoded);
      if (!running.status?.runnerId) continue;
      bump(byRunner, running.status.runnerId);
      for (const key of concurrencyKeysOf(running.spec)) bump(byKey, key);
    }
    scanned += page.items.length;
    if (!page.nextBeforeId) return { complete: true, byRunner, byKey };
    if (scanned >= SCAN_MOST) return { complete: false, byRunner, byKey };
    beforeId = page.nextBeforeId;
  }
}

/**
 * The stored state of the task's rate-limit and concurrency keys (rate_keys: what dispatch counts from). The
 * table is read whole: it holds only keys whose bucket is not full or that are paused (idle rows go).
 */
async function keyStatesOf(backend: StorageBackend, task: Task): Promise<Map<string, RateKeyRecord>> {
  const keys = new Set([...rateKeysOf(task.spec), ...concurrencyKeysOf(task.spec)]);
  if (keys.size === 0) return new Map();
  return new Map((await backend.rateKeys()).filter(({ key }) => keys.has(key)).map((record) => [record.key, record]));
}

/** The stored pauses that match the task (the leader holds back what they match a moment after they are made). */
async function holdingPauses(backend: StorageBackend, task: Task): Promise<DispatchPause[]> {
  const rules = new PauseRules();
  rules.replace(await backend.dispatchPauses.list());
  const spec = task.spec!;
  return rules.matchAll({ slot: spec.slot, concurrency: spec.concurrency, labels: spec.labels });
}

/** Another task holding the slot: the owner a queued task waits behind, or a replaced owner still stopping. */
async function slotHolderOf(backend: StorageBackend, stored: StoredTask): Promise<ExplainInputs["slotHolder"]> {
  const { task, slotState } = stored;
  const slot = task.spec!.slot;
  if (!slot) return undefined;
  if (slotState === "queued") {
    const owner = await backend.getSlotOwner(slot);
    return owner && owner.task.id !== task.id ? { taskId: owner.task.id, queued: true } : undefined;
  }
  // The slot's owner: the task it replaced may still be running (it stops first; then this one may start).
  const page = await backend.listTasks({ slot, phases: [TaskPhase.TASK_PHASE_RUNNING], limit: 2 });
  const stopping = page.items.map(({ encoded }) => Task.decode(encoded)).find((other) => other.id !== task.id);
  return stopping ? { taskId: stopping.id, queued: false } : undefined;
}
