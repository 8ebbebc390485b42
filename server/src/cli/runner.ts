import { Option, type Command } from "commander";
import { Runner } from "@supervisor/sdk";
import { hostname } from "node:os";
import { DEFAULT_ADDRESS } from "./connection.js";
import { stopOnSignals } from "./serve.js";

/** `--label k=v` (repeatable) into a map. */
export function collectLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new Error(`--label takes key=value, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function addressOption(): Option {
  return new Option("--addr <host:port>", "supervisor address").env("SUPERVISOR_ADDR").default(DEFAULT_ADDRESS);
}

export function registerRunner(program: Command): void {
  program
    .command("runner")
    .description("run tasks for a supervisor: connect, take assignments, report back (SIGTERM drains, then exits)")
    .addOption(addressOption())
    .option("--name <name>", "unique runner name", `${hostname()}-${process.pid}`)
    .option("--label <key=value>", "a label matched by task runner selectors (repeatable)", collectLabel, {})
    .option("--capacity <n>", "runs at once", (v) => Number.parseInt(v, 10), 4)
    .option("--kinds <list>", "kinds to run, comma-separated (subprocess, wasm)", (v) => v.split(",").map((k) => k.trim()).filter(Boolean))
    .action(async (options: { addr: string; name: string; label: Record<string, string>; capacity: number; kinds?: string[] }) => {
      if (!Number.isInteger(options.capacity) || options.capacity < 1) {
        process.stderr.write("supervisor runner: --capacity must be a whole number of at least 1\n");
        process.exit(2);
      }
      const runner = new Runner({
        address: options.addr,
        name: options.name,
        labels: options.label,
        capacity: options.capacity,
        kinds: options.kinds,
        version: "supervisor-cli/0.1.0",
      });
      const runnerId = await runner.start();
      process.stdout.write(`runner ${options.name} connected to ${options.addr} as ${runnerId} (capacity ${options.capacity}, kinds ${runner.kinds.join(",")})\n`);
      stopOnSignals(async () => {
        process.stderr.write(`runner ${options.name}: draining\n`);
        await runner.stop();
      });
    });
}
