import { integer, stopOnSignals } from "@supervisor/cli";
import { DEFAULT_ADDRESS, Runner } from "@supervisor/sdk";
import { type Command, Option } from "commander";
import { DEV_HTTP_LISTEN } from "../config.js";
import { createLogger } from "../log.js";
import { startServer } from "../server.js";
import { startTraceExport } from "../tracing-export.js";
import { addConfigOptions, configFromOptions } from "./config-options.js";
import { startOrExit } from "./serve.js";

export const DEV_DATABASE = ".supervisor/dev.db";

/** The zero-config start: a server, its database, and one local runner, in one process. */
export function registerDev(program: Command): void {
  addConfigOptions(program.command("dev").description("start a server and a local runner with zero configuration"), {
    db: DEV_DATABASE,
    httpListen: DEV_HTTP_LISTEN,
  })
    .addOption(
      new Option("--capacity <n>", "runs at once on the local runner").argParser(integer(1, 10_000)).default(4),
    )
    .action(async (options: Record<string, unknown>) => {
      const config = configFromOptions(options, { db: DEV_DATABASE, httpListen: DEV_HTTP_LISTEN });
      const capacity = options.capacity as number;
      const log = createLogger({ level: config.logLevel, format: config.logFormat });
      await startTraceExport(process.env, log);
      const server = await startOrExit(() => startServer(config, log));
      // Subprocess and wasm only: the local runner has no embedded handlers, so it must not take embedded tasks
      // (a runner of the user's with the handler gets them).
      const kinds = ["subprocess", "wasm"];
      const runner = new Runner({
        address: server.address,
        name: "dev",
        labels: { dev: "true" },
        capacity,
        kinds,
        version: "supervisor-dev/0.1.0",
        log: (line) => log(line),
      });
      await runner.start();
      const addr = server.address === DEFAULT_ADDRESS ? "" : ` --addr ${server.address}`;
      process.stdout.write(
        [
          `supervisor dev serving on ${server.address} (db ${config.db})`,
          server.httpUrl ? `dashboard: ${server.httpUrl}/ (docs/dashboard.md)` : "dashboard: off (--http-listen)",
          server.httpUrl ? `HTTP API: ${server.httpUrl}/v1/tasks (docs/http-api.md)` : "HTTP API: off (--http-listen)",
          server.metricsAddress
            ? `metrics: http://${server.metricsAddress}/metrics`
            : "metrics: off (--metrics-listen)",
          `local runner "dev" connected: labels dev=true, capacity ${capacity}, kinds ${kinds.join(", ")}`,
          "",
          "Submit a first task from another terminal:",
          `  npx supervisor submit${addr} --wait -- echo hello`,
          "Then:",
          `  npx supervisor list${addr}            # tasks, newest first`,
          `  npx supervisor watch${addr}           # changes as they happen`,
          `  npx supervisor logs${addr} -f <id>    # a task's output`,
          "",
          "Stop with Ctrl-C (running tasks finish first; Ctrl-C again kills them).",
          "",
        ].join("\n"),
      );
      stopOnSignals(
        async () => {
          const running = runner.executing;
          process.stderr.write(
            running > 0
              ? `supervisor dev: draining: waiting for ${running} running task(s); press Ctrl-C again to kill them\n`
              : "supervisor dev: stopping\n",
          );
          await runner.stop();
          await server.shutdown();
        },
        async () => {
          process.stderr.write(`supervisor dev: killing ${runner.executing} running task(s)\n`);
          await runner.kill();
          await server.shutdown();
        },
      );
    });
}
