import { ErrorReason, RunnerInfo, RunnerState } from "@supervisor/sdk";
import { expect, it } from "vitest";
import { emptyWriteSet, type IdempotencyKey, type StorageBackend } from "../../server/src/store/backend.js";
import { decideSetDraining } from "../../server/src/store/decide/runners.js";
import {
  decide,
  insertTasks,
  makeRunner,
  makeTask,
  type OpenBackend,
  runnerId,
  taskId,
  useBackend,
} from "./fixtures.js";

const key = (requestId: string, createTimeMs: number, task = 1): IdempotencyKey => ({
  requestId,
  taskId: taskId(task),
  specHash: `hash-of-${requestId}`,
  createTimeMs,
});

/** The keys as a transaction reads them (the only way keys are read). */
const readKeys = (backend: StorageBackend, requestIds: string[]) =>
  backend.transact(async (tx) => ({
    writes: emptyWriteSet(),
    result: (await tx.read({ idempotencyKeys: requestIds })).idempotencyKeys,
  }));

export function runnerAndKeyTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  it("a runner is stored and found by id and by name; a missing one is undefined", async () => {
    const { backend } = fresh;
    const alpha = makeRunner(1, "alpha");
    await decide(backend, (view) => view.putRunner(alpha));
    expect(await backend.getRunner(alpha.id)).toEqual(alpha);
    expect(await backend.getRunnerByName("alpha")).toEqual(alpha);
    expect(await backend.getRunner(runnerId(2))).toBeUndefined();
    expect(await backend.getRunnerByName("beta")).toBeUndefined();
  });

  it("listRunners: by name after a name, at most the limit, with each one's encoded size", async () => {
    const { backend } = fresh;
    // Stored in an order that is neither by id nor by name.
    const runners = [makeRunner(1, "delta"), makeRunner(2, "alpha"), makeRunner(3, "charlie"), makeRunner(4, "bravo")];
    await decide(backend, (view) => {
      for (const runner of runners) view.putRunner(runner);
    });
    const page = await backend.listRunners("", 3);
    expect(page.map((stored) => stored.runner.name)).toEqual(["alpha", "bravo", "charlie"]);
    for (const stored of page) expect(stored.encodedBytes).toBe(RunnerInfo.encode(stored.runner).finish().length);
    expect((await backend.listRunners("charlie", 3)).map((stored) => stored.runner.name)).toEqual(["delta"]);
    expect((await backend.listRunners("b", 10)).map((stored) => stored.runner.name)).toEqual([
      "bravo",
      "charlie",
      "delta",
    ]);
    expect(await backend.listRunners("delta", 3)).toEqual([]);
  });

  it("listRunners after a name holding a NUL character: the names after it byte by byte", async () => {
    // The cursor comes from a client's page token; stored names never hold U+0000 (PostgreSQL's text cannot).
    const { backend } = fresh;
    const runners = [makeRunner(1, "b"), makeRunner(2, "ba"), makeRunner(3, "a"), makeRunner(4, "c")];
    await decide(backend, (view) => {
      for (const runner of runners) view.putRunner(runner);
    });
    const names = async (after: string) => (await backend.listRunners(after, 10)).map((stored) => stored.runner.name);
    expect(await names("b\u0000")).toEqual(["ba", "c"]);
    expect(await names("\u0000")).toEqual(["a", "b", "ba", "c"]);
  });

  it("a runner stored again replaces its record, under its new name too", async () => {
    const { backend } = fresh;
    const alpha = makeRunner(1, "alpha");
    await decide(backend, (view) => view.putRunner(alpha));
    const renamed = { ...alpha, name: "omega", state: RunnerState.RUNNER_STATE_DRAINING, running: 1 };
    await decide(backend, (view) => view.putRunner(renamed));
    expect(await backend.getRunner(alpha.id)).toEqual(renamed);
    expect(await backend.getRunnerByName("omega")).toEqual(renamed);
    expect(await backend.getRunnerByName("alpha")).toBeUndefined();
    expect((await backend.listRunners("", 10)).map((stored) => stored.runner)).toEqual([renamed]);
  });

  it("a deleted runner is gone from every read, and a transaction reads its name as null", async () => {
    const { backend } = fresh;
    const [alpha, beta] = [makeRunner(1, "alpha"), makeRunner(2, "beta")];
    await decide(backend, (view) => {
      view.putRunner(alpha);
      view.putRunner(beta);
    });
    await decide(backend, (view) => view.deleteRunner(alpha));
    expect(await backend.getRunner(alpha.id)).toBeUndefined();
    expect(await backend.getRunnerByName("alpha")).toBeUndefined();
    expect((await backend.listRunners("", 10)).map((stored) => stored.runner.name)).toEqual(["beta"]);
    const names = await backend.transact(async (tx) => ({
      writes: emptyWriteSet(),
      result: (await tx.read({ runnerNames: ["alpha", "beta"] })).runnerNames,
    }));
    expect(names.get("alpha")).toBeNull();
    expect(names.get("beta")).toEqual(beta);
  });

  it("runners.server_id: this server for a live runner it writes, null once disconnected, or the one named", async () => {
    const { backend } = fresh;
    const live = makeRunner(1, "live");
    const draining = { ...makeRunner(2, "draining"), state: RunnerState.RUNNER_STATE_DRAINING };
    const gone = { ...makeRunner(3, "gone"), state: RunnerState.RUNNER_STATE_DISCONNECTED };
    const elsewhere = makeRunner(4, "elsewhere");
    const released = makeRunner(5, "released");
    await decide(backend, (view) => {
      view.putRunner(live);
      view.putRunner(draining);
      view.putRunner(gone);
      view.putRunner(elsewhere, "server-b");
      view.putRunner(released, null);
    });
    const holders = (await backend.listRunners("", 10)).map((stored) => [stored.runner.name, stored.serverId]);
    expect(holders).toEqual([
      ["draining", backend.serverId],
      ["elsewhere", "server-b"],
      ["gone", null],
      ["live", backend.serverId],
      ["released", null],
    ]);
    expect(await backend.getRunnerServer(live.id)).toBe(backend.serverId);
    expect(await backend.getRunnerServer(elsewhere.id)).toBe("server-b");
    expect(await backend.getRunnerServer(gone.id)).toBeNull();
    expect(await backend.getRunnerServer(runnerId(9))).toBeUndefined();

    // A transaction reads each holder with its runner, and sees its own writes' holders before they commit.
    const seen = await decide(
      backend,
      (view) => {
        const before = ["live", "elsewhere", "gone", "nobody"].map((name) => view.runnerServer(name));
        view.putRunner({ ...live, state: RunnerState.RUNNER_STATE_DISCONNECTED }, null);
        view.putRunner(gone, "server-c");
        view.deleteRunner(elsewhere);
        return [before, ["live", "gone", "elsewhere"].map((name) => view.runnerServer(name))];
      },
      { runnerNames: ["live", "elsewhere", "gone", "nobody"] },
    );
    expect(seen).toEqual([
      [backend.serverId, "server-b", null, null],
      [null, "server-c", null],
    ]);
    expect(await backend.getRunnerServer(gone.id)).toBe("server-c");
    expect(await backend.getRunnerServer(live.id)).toBeNull();
  });

  it("a drain decided over the stored record: its state changes, its holder stays; not for another connection", async () => {
    const { backend } = fresh;
    const held = makeRunner(1, "held");
    const gone = { ...makeRunner(2, "gone"), state: RunnerState.RUNNER_STATE_DISCONNECTED };
    await decide(backend, (view) => {
      view.putRunner(held, "server-b");
      view.putRunner(gone, "server-b");
    });
    const names = { runnerNames: ["held", "gone"] };
    const drained = await decide(backend, (view) => decideSetDraining(view, held, true), names);
    expect(drained).toEqual({ ...held, state: RunnerState.RUNNER_STATE_DRAINING });
    expect(await backend.getRunner(held.id)).toEqual(drained);
    expect(await backend.getRunnerServer(held.id)).toBe("server-b");
    // Asked again: nothing to change, the record as it is.
    expect(await decide(backend, (view) => decideSetDraining(view, held, true), names)).toEqual(drained);
    // A later connection of the runner (a new connect time), or one that is gone: nothing is written.
    const earlier = { ...held, connectTime: new Date(held.connectTime!.getTime() - 1) };
    expect(await decide(backend, (view) => decideSetDraining(view, earlier, false), names)).toBeUndefined();
    expect(await decide(backend, (view) => decideSetDraining(view, gone, true), names)).toBeUndefined();
    expect((await backend.getRunner(held.id))!.state).toBe(RunnerState.RUNNER_STATE_DRAINING);
    expect(await backend.getRunner(gone.id)).toEqual(gone);
    const undrained = await decide(backend, (view) => decideSetDraining(view, held, false), names);
    expect(undrained).toEqual(held);
    expect(await backend.getRunnerServer(held.id)).toBe("server-b");
  });

  it("a leader's write: any epoch commits on a backend no other server writes; shared, only under the lease", async () => {
    const { backend } = fresh;
    const leaderWrite = decide(backend, (view) => {
      view.requireLeader(7);
      return view.insertTask(makeTask(1), "none");
    });
    if (!backend.shared) {
      expect((await leaderWrite).revision).toBe(1);
      return;
    }
    // Nobody was elected: this server holds no lease of epoch 7, and nothing of the write is stored.
    await expect(leaderWrite).rejects.toMatchObject({ reason: ErrorReason.NOT_LEADER, metadata: { epoch: "7" } });
    expect(await backend.head()).toBe(0);
    expect(await backend.getTask(taskId(1))).toBeUndefined();
    const [plain] = await insertTasks(backend, [{ task: makeTask(1) }]);
    expect(plain!.revision).toBe(1);
  });

  it("idempotency keys: stored, read back, and a key stored again replaces the old one", async () => {
    const { backend } = fresh;
    await decide(backend, (view) => {
      view.putIdempotencyKey(key("req-1", 1000));
      view.putIdempotencyKey(key("req-2", 2000));
    });
    const first = await readKeys(backend, ["req-1", "req-2", "req-3"]);
    expect(first.get("req-1")).toEqual(key("req-1", 1000));
    expect(first.get("req-2")).toEqual(key("req-2", 2000));
    expect(first.get("req-3")).toBeNull();
    // A request id whose key expired is taken afresh by a new task.
    await decide(backend, (view) => view.putIdempotencyKey(key("req-1", 5000, 7)));
    expect((await readKeys(backend, ["req-1"])).get("req-1")).toEqual(key("req-1", 5000, 7));
  });

  it("expiring keys deletes those created before the cutoff, at most the limit, and keeps the rest", async () => {
    const { backend } = fresh;
    const all = ["old-1", "old-2", "old-3", "at-cutoff", "new"];
    await decide(backend, (view) => {
      view.putIdempotencyKey(key("old-1", 100));
      view.putIdempotencyKey(key("old-2", 200));
      view.putIdempotencyKey(key("old-3", 300));
      view.putIdempotencyKey(key("at-cutoff", 1000));
      view.putIdempotencyKey(key("new", 2000));
    });
    await decide(backend, (view) => view.expireIdempotencyKeys(1000, 2));
    const afterOne = await readKeys(backend, all);
    const oldLeft = ["old-1", "old-2", "old-3"].filter((id) => afterOne.get(id) !== null);
    expect(oldLeft.length).toBe(1);
    expect(afterOne.get("at-cutoff")).toEqual(key("at-cutoff", 1000));
    expect(afterOne.get("new")).toEqual(key("new", 2000));
    await decide(backend, (view) => view.expireIdempotencyKeys(1000, 2));
    const afterTwo = await readKeys(backend, all);
    expect(all.filter((id) => afterTwo.get(id) !== null)).toEqual(["at-cutoff", "new"]);
  });
}
