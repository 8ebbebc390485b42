import { parseLabelSelector, runnerSelectorFromLabelSelector, TaskReason } from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { EngineHarness } from "./helpers/engine.js";

// The stored NO_MATCHING_RUNNER message names the closest runner, decided once per class of tasks and
// again only when runners change: on a fake clock, so "not rewritten while nothing changed" is exact.

let harness: EngineHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const selecting = (text: string) => ({ runnerSelector: runnerSelectorFromLabelSelector(parseLabelSelector(text)) });

describe("waiting messages on a fake clock", () => {
  it("name the closest runner and the term it fails; a closer runner connecting rewrites them, once", async () => {
    const h = (harness = await EngineHarness.start());
    await h.connect("far", { labels: { zone: "us" } });
    const tasks = await Promise.all([1, 2, 3].map(() => h.submit(selecting("gpu=a100,zone=eu"))));
    await h.advanceHeartbeating(2_000);
    for (const { id } of tasks) {
      expect((await h.task(id)).status).toMatchObject({
        reason: TaskReason.NO_MATCHING_RUNNER,
        message:
          "no connected runner matches; the closest, far, fails gpu=a100 (it has no label gpu) and 1 more requirement",
      });
    }
    // Nothing changed: nothing is written again.
    const revisions = await Promise.all(tasks.map(async ({ id }) => (await h.task(id)).revision));
    await h.advanceHeartbeating(3_000);
    expect(await Promise.all(tasks.map(async ({ id }) => (await h.task(id)).revision))).toEqual(revisions);

    await h.connect("near", { labels: { gpu: "t4", zone: "eu" } });
    await h.advanceHeartbeating(2_000);
    for (const { id } of tasks) {
      expect((await h.task(id)).status!.message).toBe(
        "no connected runner matches; the closest, near, fails gpu=a100 (it has gpu=t4)",
      );
    }
  });

  it("a task pinned to a runner that does not fit says what that runner fails", async () => {
    const h = (harness = await EngineHarness.start());
    const pinned = await h.connect("pinned", { labels: { zone: "us" } });
    const id = pinned.session!.id;
    const task = await h.submit({ pinnedRunnerId: id, ...selecting("zone=eu") });
    await h.advanceHeartbeating(2_000);
    expect((await h.task(task.id)).status!.message).toBe(
      `pinned to runner pinned (${id}), which fails zone=eu (it has zone=us)`,
    );
  });
});
