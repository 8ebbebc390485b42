import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { RunnerServiceClient, TaskServiceClient } from "@supervisor/sdk";
import { type Config, type ConfigKey, loadConfig } from "../../server/src/config.js";
import { silentLogger } from "../../server/src/log.js";
import { type RunningServer, type ServerOptions, startServer } from "../../server/src/server.js";
import { newStore, type TestStore } from "./backend.js";

export interface TestServer {
  /** A fresh temp dir of its own (removed by close). */
  dir: string;
  /** Its --db: a SQLite file in `dir`, or a PostgreSQL database of its own, as the project's backend is. */
  db: string;
  config: Config;
  server: RunningServer;
  address: string;
  tasks: TaskServiceClient;
  runners: RunnerServiceClient;
  /** Shuts the server down and starts a new one on the same database (`whileDown` runs in between). */
  restart(whileDown?: () => void | Promise<void>): Promise<void>;
  /** Shuts it down and drops its database. */
  close(): Promise<void>;
}

export function tempDir(prefix = "supervisor-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A real server on 127.0.0.1:0 on a fresh database of the project's backend (test/helpers/backend.ts):
 * a real SQLite file in a fresh temp dir, or a real PostgreSQL database of its own; on a fake clock if
 * `options` says so. A `db` in `settings` is used as it is (and left in place by close).
 */
export async function startTestServer(
  settings: Partial<Record<ConfigKey, string | number>> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const dir = tempDir();
  const store: TestStore =
    settings.db === undefined ? await newStore(dir) : { db: String(settings.db), drop: async () => {} };
  let config: Config;
  let started: RunningServer;
  try {
    config = loadConfig({
      flags: { listen: "127.0.0.1:0", db: store.db, shutdownGracePeriod: "2s", metricsListen: "off", ...settings },
    });
    started = await startServer(config, silentLogger, options);
  } catch (error) {
    await store.drop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const handle: TestServer = {
    dir,
    db: store.db,
    config,
    server: started,
    address: "",
    tasks: undefined as unknown as TaskServiceClient,
    runners: undefined as unknown as RunnerServiceClient,
    async restart(whileDown) {
      handle.tasks.close();
      handle.runners.close();
      await handle.server.shutdown();
      await whileDown?.();
      handle.server = await startServer(config, silentLogger, options);
      connect();
    },
    async close() {
      handle.tasks.close();
      handle.runners.close();
      await handle.server.shutdown();
      await store.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const connect = () => {
    handle.address = handle.server.address;
    handle.tasks = new TaskServiceClient(handle.address, credentials.createInsecure());
    handle.runners = new RunnerServiceClient(handle.address, credentials.createInsecure());
  };
  connect();
  return handle;
}
