import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { RunnerServiceClient, TaskServiceClient } from "@supervisor/sdk";
import { type Config, type ConfigKey, loadConfig } from "../../server/src/config.js";
import { silentLogger } from "../../server/src/log.js";
import { type RunningServer, type ServerOptions, startServer } from "../../server/src/server.js";

export interface TestServer {
  dir: string;
  dbPath: string;
  config: Config;
  server: RunningServer;
  address: string;
  tasks: TaskServiceClient;
  runners: RunnerServiceClient;
  /** Shuts the server down and starts a new one on the same database file. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export function tempDir(prefix = "supervisor-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A real server on 127.0.0.1:0 with a real SQLite file in a fresh temp dir (on a fake clock if `options` says so). */
export async function startTestServer(
  settings: Partial<Record<ConfigKey, string | number>> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const dir = tempDir();
  const dbPath = join(dir, "supervisor.db");
  const config = loadConfig({ flags: { listen: "127.0.0.1:0", db: dbPath, shutdownGracePeriod: "2s", ...settings } });
  const handle: TestServer = {
    dir,
    dbPath,
    config,
    server: await startServer(config, silentLogger, options),
    address: "",
    tasks: undefined as unknown as TaskServiceClient,
    runners: undefined as unknown as RunnerServiceClient,
    async restart() {
      handle.tasks.close();
      handle.runners.close();
      await handle.server.shutdown();
      handle.server = await startServer(config, silentLogger, options);
      connect();
    },
    async close() {
      handle.tasks.close();
      handle.runners.close();
      await handle.server.shutdown();
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
