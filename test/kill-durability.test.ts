import { rmSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { listAllTasks } from "./helpers/list-all.js";
import { faultSeed, prng } from "./helpers/prng.js";
import { tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

const READY = /supervisor serving on (\S+)/;

/** A `supervisor serve` on `db` and a client of it, both stopped when the test is over (if not before). */
async function serve(db: string) {
  const { child, match } = await startCli(["serve", "--listen", "127.0.0.1:0", "--db", db], READY);
  const client = new TaskServiceClient(match[1]!, credentials.createInsecure());
  onTestFinished(async () => {
    client.close();
    await stopChild(child, "SIGKILL");
  });
  return { child, client };
}

describe("durability", () => {
  it("every acknowledged submit survives SIGKILL of the supervisor at a random moment", async () => {
    const random = prng(faultSeed("kill durability"));
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const db = await storeForTest(dir, "kill.db");
    const acknowledged = new Set<string>();
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const { child, client } = await serve(db);
      let killed = false;
      // The random moment: after a random number of acknowledged submits (seeded).
      const target = acknowledged.size + 200 + Math.floor(random() * 300);
      let reached!: () => void;
      const targetReached = new Promise<void>((resolve) => (reached = resolve));
      // 16 clients submitting as fast as they can; an answer means "committed".
      const submitters = Array.from({ length: 16 }, async (_, worker) => {
        for (let i = 0; !killed; i++) {
          try {
            const { task } = await call(
              rpc(client, "submitTask"),
              submitRequest(subprocessSpec("echo", [`${round}-${worker}-${i}`])),
            );
            acknowledged.add(task!.id);
            if (acknowledged.size >= target) reached();
          } catch {
            return; // the server died under us: whatever was not answered may or may not be stored
          }
        }
      });
      const allStopped = Promise.all(submitters).then(() => {
        if (acknowledged.size < target) throw new Error(`the submitters stopped before ${target} acknowledged submits`);
      });
      await Promise.race([targetReached, allStopped]);
      await stopChild(child, "SIGKILL");
      killed = true;
      await Promise.all(submitters);
      client.close();
    }
    const { child, client } = await serve(db);
    const stored = new Set((await listAllTasks(client)).map((t) => t.id));
    client.close();
    await stopChild(child);
    const lost = [...acknowledged].filter((id) => !stored.has(id));
    expect(acknowledged.size).toBeGreaterThanOrEqual(rounds * 200);
    expect(lost).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(acknowledged.size);
  });
});
