import { embedded, Runner, TaskPhase } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { startCluster } from "./helpers/cluster.js";

// The postgres project only: several servers share one database, which only PostgreSQL offers.
const describeCluster = describe.skipIf(BACKEND !== "postgres");

describeCluster("StreamTaskOutput follow through a server that does not hold the runner", { timeout: 120_000 }, () => {
  it("ends with the run's end, whichever server the runner is connected to", async () => {
    const cluster = await startCluster(2);
    const [holder, other] = cluster.servers;
    // The handler runs until the follower has seen the run start: its end comes while the follow is live.
    let release: () => void = () => {};
    const runner = new Runner({ address: holder!.address, name: "far-runner", capacity: 1, log: () => {} }).handle(
      "held",
      async (payload, context) => {
        context.log("hello from the runner's server");
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return payload;
      },
    );
    onTestFinished(() => runner.kill());
    await runner.start();
    for (const via of [other!, holder!]) {
      const task = await via.client.submit(embedded("held", { n: 1 }));
      const cases: (string | undefined)[] = [];
      for await (const event of via.client.output(task.id, { attempt: 1, follow: true })) {
        cases.push(event.event?.$case);
        if (event.event?.$case === "runStarted") release();
      }
      expect(cases[0]).toBe("runStarted");
      expect(cases.at(-1)).toBe("runFinished");
      expect((await via.client.get(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    }
  });
});
