import { stopOnSignals } from "@supervisor/cli";
import type { Command } from "commander";
import { createLogger } from "../log.js";
import { startServer } from "../server.js";
import { describeDatabase } from "../store/open-backend.js";
import { DatabaseOpenError } from "../store/open-error.js";
import { addConfigOptions, configFromOptions } from "./config-options.js";

export function registerServe(program: Command): void {
  addConfigOptions(program.command("serve").description("run the supervisor server")).action(
    async (options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      const log = createLogger();
      const server = await startOrExit(() => startServer(config, log));
      // stdout carries exactly this line so scripts (and tests) can find the bound port.
      process.stdout.write(`supervisor serving on ${server.address} (${describeDatabase(config)})\n`);
      stopOnSignals(async () => {
        log("shutting down");
        await server.shutdown();
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
