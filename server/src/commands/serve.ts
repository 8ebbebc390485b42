import { stopOnSignals } from "@supervisor/cli";
import type { Command } from "commander";
import { createLogger } from "../log.js";
import { startServer } from "../server.js";
import { describeDatabase } from "../store/open-backend.js";
import { DatabaseOpenError } from "../store/open-error.js";
import { startTraceExport } from "../tracing-export.js";
import { addConfigOptions, configFromOptions } from "./config-options.js";

export function registerServe(program: Command): void {
  addConfigOptions(program.command("serve").description("run the supervisor server")).action(
    async (options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      const log = createLogger({ level: config.logLevel, format: config.logFormat });
      const stopTraceExport = await startTraceExport(process.env, log);
      const server = await startOrExit(() => startServer(config, log));
      // Scripts (and tests) find the bound port in this line, in either format and at every log level.
      log.announce(`supervisor serving on ${server.address} (${describeDatabase(config)})`, {
        address: server.address,
      });
      if (server.httpUrl) log.announce(`HTTP API on ${server.httpUrl}`, { http_url: server.httpUrl });
      stopOnSignals(async () => {
        log("shutting down");
        await server.shutdown();
        await stopTraceExport?.().catch((error) => log("flushing the last spans failed", error, { level: "warn" }));
      });
    },
  );
}

/** Starts the server; a database that cannot be opened is one clear line and exit 1, not a stack trace. */
export async function startOrExit<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (
      error instanceof DatabaseOpenError ||
      (error as { code?: string }).code === "EADDRINUSE" ||
      /No address added|bind/i.test((error as Error).message)
    ) {
      process.stderr.write(`supervisor: ${(error as Error).message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
