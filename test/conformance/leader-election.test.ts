import { ErrorReason } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import type { LeaseElector } from "../../server/src/cluster/elector.js";
import { WriteView } from "../../server/src/store/decide/view.js";
import { describeOn } from "../helpers/backend.js";
import { waitUntil } from "../helpers/wait.js";
import { decide, insertTasks, makeTask, taskId } from "./fixtures.js";
import { sharedDatabase, startServerProcess } from "./shared-servers.js";

/** The electors that lead now, by their own account. */
const leaders = (electors: readonly LeaseElector[]) => electors.filter((elector) => elector.epoch() !== undefined);
/** The one elector that leads now, or undefined when none or several do. */
const soleLeader = (electors: readonly LeaseElector[]) => {
  const now = leaders(electors);
  return now.length === 1 ? now[0] : undefined;
};

// PostgreSQL only: servers share a database there alone (a SQLite file has one server, which leads itself).
describeOn("postgres")("leader election among servers sharing a database", () => {
  it("of three servers one leads, and the lease row names it", async () => {
    const db = await sharedDatabase();
    const backends = await Promise.all([1, 2, 3].map(() => db.open()));
    const electors = backends.map((backend) => db.elect(backend, { ttlMs: 2_000 }));
    const leader = await waitUntil(() => soleLeader(electors), "one leader");
    const lease = await backends[0]!.cluster!.leases.current();
    expect(lease).toEqual({ serverId: leader.serverId, epoch: leader.epoch(), held: true });
    expect(leaders(electors)).toEqual([leader]);
  });

  it("a leader that resigns is followed at once: its resignation wakes the others, long before their next try", async () => {
    const db = await sharedDatabase();
    const backends = await Promise.all([1, 2, 3].map(() => db.open()));
    // The others try to take the lease every 20 s: only the resignation's notification can make it prompt.
    const electors = backends.map((backend) => db.elect(backend, { ttlMs: 60_000, intervalMs: 20_000 }));
    const first = await waitUntil(() => soleLeader(electors), "a first leader");
    const firstEpoch = first.epoch()!;
    const heard: boolean[] = [];
    first.onChange((leading: boolean) => heard.push(leading));
    await first.stop();
    expect(heard).toEqual([false]);
    expect(first.epoch()).toBeUndefined();
    const others = electors.filter((elector) => elector !== first);
    const next = await waitUntil(() => soleLeader(others), "the next leader", 10_000);
    expect(next.epoch()).toBe(firstEpoch + 1);
    expect(await backends[0]!.cluster!.leases.current()).toEqual({
      serverId: next.serverId,
      epoch: firstEpoch + 1,
      held: true,
    });
  });

  it("a leader killed without resigning is followed once its lease expires, in a new epoch", async () => {
    const db = await sharedDatabase();
    const ttlMs = 1_500;
    const dying = startServerProcess(db, "server-dying", ttlMs);
    const [, epoch] = await dying.line(/leading (\d+)/);
    const backends = await Promise.all([1, 2].map(() => db.open()));
    const electors = backends.map((backend) => db.elect(backend, { ttlMs }));
    await dying.kill();
    // Its lease is never given up: another server leads once it expired, in the next epoch.
    const next = await waitUntil(() => soleLeader(electors), "a new leader");
    expect(next.epoch()).toBe(Number(epoch) + 1);
    expect((await backends[0]!.cluster!.leases.current())?.serverId).toBe(next.serverId);
  });

  describe("leader writes (WriteSet.leaderEpoch)", () => {
    it("a deposed leader's write fails with NOT_LEADER and writes nothing; the new leader's commits", async () => {
      const db = await sharedDatabase();
      const [a, b] = await Promise.all([db.open(), db.open()]);
      const electA = db.elect(a!, { ttlMs: 60_000, intervalMs: 20_000 });
      const oldEpoch = await waitUntil(() => electA.epoch(), "server A leads");
      const electB = db.elect(b!, { ttlMs: 60_000, intervalMs: 20_000 });
      await insertTasks(a!, [{ task: makeTask(1) }]);

      // A decides a leader's write in its term; before it is sent, A loses the lease and B takes it.
      let readDone = () => {};
      const read = new Promise<void>((resolve) => (readDone = resolve));
      let goOn = () => {};
      const gate = new Promise<void>((resolve) => (goOn = resolve));
      const deposed = a!.transact(async (tx) => {
        const view = new WriteView(await tx.read({ tasks: [taskId(1)] }), tx.firstRevision);
        readDone();
        await gate;
        view.requireLeader(oldEpoch);
        view.insertTask(makeTask(2), "none");
        return { writes: view.writes, result: undefined };
      });
      await read;
      await electA.stop();
      const newEpoch = await waitUntil(() => electB.epoch(), "server B leads", 10_000);
      expect(newEpoch).toBe(oldEpoch + 1);
      goOn();
      await expect(deposed).rejects.toMatchObject({
        reason: ErrorReason.NOT_LEADER,
        metadata: { epoch: String(oldEpoch) },
      });
      expect(await a!.head()).toBe(1);
      expect(await a!.getTask(taskId(2))).toBeUndefined();

      // The new leader's write commits; neither an old epoch nor another server's epoch does.
      const leaderWrite = (backend: typeof a, epoch: number, n: number) =>
        decide(backend!, (view) => {
          view.requireLeader(epoch);
          return view.insertTask(makeTask(n), "none").revision;
        });
      expect(await leaderWrite(b, newEpoch, 3)).toBe(2);
      await expect(leaderWrite(b, oldEpoch, 4)).rejects.toMatchObject({ reason: ErrorReason.NOT_LEADER });
      await expect(leaderWrite(a, newEpoch, 5)).rejects.toMatchObject({ reason: ErrorReason.NOT_LEADER });
      expect(await b!.head()).toBe(2);
      for (const n of [2, 4, 5]) expect(await b!.getTask(taskId(n))).toBeUndefined();
    });
  });
});
