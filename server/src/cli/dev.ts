import { Runner } from "@supervisor/sdk";
import type { Command } from "commander";
import { createLogger } from "../log.js";
import { startServer } from "../server.js";
import { addConfigOptions, configFromOptions } from "./config-options.js";
import { startOrExit, stopOnSignals } from "./serve.js";

export const DEV_DATABASE = ".supervisor/dev.db";

/** The zero-config start: a server, its database, and one local runner, in one process. */
export function registerDev(program: Command): void {
  addConfigOptions(program.command("dev").description("start a server and a local runner with zero configuration"))
    .option("--capacity <n>", "runs at once on the local runner", "4")
    .action(async (options: Record<string, unknown>) => {
      const config = configFromOptions(options, { db: DEV_DATABASE });
      const log = createLogger();
      const server = await startOrExit(() => startServer(config, log));
      const capacity = Number(options.capacity);
      const runner = new Runner({
        address: server.address,
        name: "dev",
        labels: { dev: "true" },
        capacity: Number.isInteger(capacity) && capacity > 0 ? capacity : 4,
        kinds: ["subprocess", "wasm", "embedded:*"],
        version: "supervisor-dev/0.1.0",
        log: (line) => log(line),
      });
      await runner.start();
      process.stdout.write(
        [
          `supervisor dev serving on ${server.address} (db ${config.db})`,
          `local runner "dev" connected: labels dev=true, capacity ${capacity}, kinds subprocess, wasm`,
          "",
          "Submit a first task from another terminal:",
          "  npx supervisor submit --wait -- echo hello",
          "Then:",
          "  npx supervisor list            # tasks, newest first",
          "  npx supervisor watch           # changes as they happen",
          "  npx supervisor logs -f <id>    # a task's output",
          "",
          "Stop with Ctrl-C.",
          "",
        ].join("\n"),
      );
      stopOnSignals(async () => {
        await runner.stop();
        await server.shutdown();
      });
    });
}
