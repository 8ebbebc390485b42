import { rmSync } from "node:fs";
import { describe, expect, it, onTestFinished } from "vitest";
import { startLeadership } from "../../server/src/cluster/start-leadership.js";
import { loadConfig } from "../../server/src/config.js";
import { systemClock } from "../../server/src/core/clock.js";
import { openBackend } from "../../server/src/store/open-backend.js";
import { newStore } from "../helpers/backend.js";
import { tempDir } from "../helpers/server.js";

describe("leadership of a server alone on its database", () => {
  it("the one server leads for good (epoch 1) until it stops, and says so when it stops", async () => {
    const dir = tempDir("leadership-");
    const store = await newStore(dir);
    const backend = await openBackend(loadConfig({ flags: { db: store.db, synchronous: "NORMAL" } }), systemClock, {
      serverId: "the-server",
    });
    onTestFinished(async () => {
      await backend.close();
      await store.drop();
      rmSync(dir, { recursive: true, force: true });
    });
    expect(backend.shared).toBe(false);
    expect(backend.cluster).toBeUndefined();
    const leadership = startLeadership(backend);
    expect(leadership.serverId).toBe("the-server");
    expect(leadership.epoch()).toBe(1);
    const heard: boolean[] = [];
    leadership.onChange((leading) => heard.push(leading));
    await leadership.stop();
    await leadership.stop();
    expect(heard).toEqual([false]);
    expect(leadership.epoch()).toBeUndefined();
  });
});
