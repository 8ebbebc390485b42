import { expect, it } from "vitest";
import type { RateKeyRecord, StorageBackend } from "../../server/src/store/backend.js";
import { commitWrites, decide, type OpenBackend, useBackend, writeSet } from "./fixtures.js";

/** The keys as a transaction reads them (what dispatch reads before it counts tokens). */
const readInTransaction = (backend: StorageBackend, keys: string[]) =>
  decide(backend, (view) => keys.map((key) => view.rateKey(key)), { rateKeys: keys });

const row = (key: string, tatMs: number, pausedUntilMs = 0, pausedBy = ""): RateKeyRecord => ({
  key,
  tatMs,
  pausedUntilMs,
  pausedBy,
});

export function rateKeyTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  it("a bucket time and a pause are stored in one row per key, read back exactly (fractional ms too)", async () => {
    const { backend } = fresh;
    await decide(backend, (view) => {
      view.putRateKeyTat("vendor-a", 1_700_000_000_333.3333);
      view.pauseKey("vendor-a", 1_700_000_005_000, "run-1");
      view.pauseKey("tenant-b", 1_700_000_009_000, "run-2");
    });
    expect(await backend.rateKeys()).toEqual([
      row("tenant-b", 0, 1_700_000_009_000, "run-2"),
      row("vendor-a", 1_700_000_000_333.3333, 1_700_000_005_000, "run-1"),
    ]);
    expect(await readInTransaction(backend, ["vendor-a", "missing"])).toEqual([
      row("vendor-a", 1_700_000_000_333.3333, 1_700_000_005_000, "run-1"),
      undefined,
    ]);
  });

  it("a bucket time never moves back, and a pause that ends later stays with the run that set it", async () => {
    const { backend } = fresh;
    await decide(backend, (view) => {
      view.putRateKeyTat("k", 2_000);
      view.pauseKey("k", 9_000, "run-late");
    });
    // Decided on an older view: neither gives anything back.
    await commitWrites(
      backend,
      writeSet({ rateKeyTats: [{ key: "k", tatMs: 1_000 }], keyPauses: [{ key: "k", untilMs: 5_000, byRunId: "r" }] }),
    );
    expect(await backend.rateKeys()).toEqual([row("k", 2_000, 9_000, "run-late")]);
    // Two writes of one key in one batch: the later values of both.
    await commitWrites(
      backend,
      writeSet({
        rateKeyTats: [
          { key: "k", tatMs: 4_000 },
          { key: "k", tatMs: 3_000 },
        ],
        keyPauses: [
          { key: "k", untilMs: 12_000, byRunId: "run-a" },
          { key: "k", untilMs: 11_000, byRunId: "run-b" },
        ],
      }),
    );
    expect(await backend.rateKeys()).toEqual([row("k", 4_000, 12_000, "run-a")]);
  });

  it("the view lays a batch's own writes over what it read", async () => {
    const { backend } = fresh;
    await decide(backend, (view) => view.pauseKey("k", 9_000, "run-1"));
    const seen = await decide(
      backend,
      (view) => {
        view.putRateKeyTat("k", 3_000);
        view.pauseKey("k", 4_000, "run-2");
        return view.rateKey("k");
      },
      { rateKeys: ["k"] },
    );
    expect(seen).toEqual(row("k", 3_000, 9_000, "run-1"));
  });

  it("expiring deletes only the rows that say nothing by then: a full bucket and no pause", async () => {
    const { backend } = fresh;
    await decide(backend, (view) => {
      view.putRateKeyTat("full", 1_000);
      view.putRateKeyTat("filling", 6_000);
      view.putRateKeyTat("paused", 1_000);
      view.pauseKey("paused", 6_000, "run-1");
      view.pauseKey("pause-over", 2_000, "run-2");
    });
    await decide(backend, (view) => view.expireRateKeys(5_000));
    expect((await backend.rateKeys()).map(({ key }) => key)).toEqual(["filling", "paused"]);
  });
}
