import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { credentials } from "@grpc/grpc-js";
import { createSubprocessExecutor, Runner } from "@supervisor/sdk";
import type { Command } from "commander";
import { addConnectionOptions, type ConnectionOptions, tlsFrom } from "./connection.js";
import { stopOnSignals } from "./signals.js";

/** `--label k=v` (repeatable) into a map. */
export function collectLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new Error(`--label takes key=value, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** `--trusted-key id=public.pem` (repeatable) into { id: PEM }. */
function collectKeyFile(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const { key, path } = splitKeyValue(value, "--trusted-key");
  return { ...previous, [key]: readFileSync(path, "utf8") };
}

export function splitKeyValue(value: string, flag: string): { key: string; path: string } {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new Error(`${flag} takes id=file, got ${JSON.stringify(value)}`);
  return { key: value.slice(0, eq), path: value.slice(eq + 1) };
}

export function registerRunner(program: Command): void {
  addConnectionOptions(
    program
      .command("runner")
      .description("run tasks for a supervisor: connect, take assignments, report back (SIGTERM drains, then exits)"),
  )
    .option("--name <name>", "unique runner name", `${hostname()}-${process.pid}`)
    .option("--label <key=value>", "a label matched by task runner selectors (repeatable)", collectLabel, {})
    .option("--capacity <n>", "runs at once", (v) => Number.parseInt(v, 10), 4)
    .option("--kinds <list>", "kinds to run, comma-separated (subprocess, wasm)", (v) =>
      v
        .split(",")
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .option("--trusted-key <id=file>", "ed25519 public key (PEM) that may sign specs (repeatable)", collectKeyFile, {})
    .option("--require-signatures", "refuse to run specs not signed by a trusted key")
    .option("--uid <uid>", "run subprocesses as this user id")
    .option("--gid <gid>", "run subprocesses as this group id")
    .action(
      async (
        options: ConnectionOptions & {
          name: string;
          label: Record<string, string>;
          capacity: number;
          kinds?: string[];
          trustedKey: Record<string, string>;
          requireSignatures?: boolean;
          uid?: string;
          gid?: string;
        },
      ) => {
        if (!Number.isInteger(options.capacity) || options.capacity < 1) {
          process.stderr.write("supervisor runner: --capacity must be a whole number of at least 1\n");
          process.exit(2);
        }
        const tls = tlsFrom(options);
        const runner = new Runner({
          address: options.addr,
          credentials: tls ? credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null) : undefined,
          token: options.token,
          trustedKeys: options.trustedKey,
          requireSignatures: options.requireSignatures,
          subprocess:
            options.uid || options.gid
              ? createSubprocessExecutor({
                  uid: options.uid ? Number(options.uid) : undefined,
                  gid: options.gid ? Number(options.gid) : undefined,
                })
              : undefined,
          name: options.name,
          labels: options.label,
          capacity: options.capacity,
          kinds: options.kinds,
          version: "supervisor-cli/0.1.0",
        });
        // A refusal (name in use, a token that may not) was logged by the runner in one line: exit 1.
        void runner.closed.then((refused) => refused && process.exit(1));
        const runnerId = await runner.start().catch(() => undefined);
        if (runnerId === undefined) return;
        process.stdout.write(
          `runner ${options.name} connected to ${options.addr} as ${runnerId} ` +
            `(capacity ${options.capacity}, kinds ${runner.kinds.join(",")})\n`,
        );
        stopOnSignals(
          async () => {
            process.stderr.write(
              `runner ${options.name}: draining (finishing ${runner.executing} run(s)); ` +
                "press Ctrl-C again to kill them\n",
            );
            await runner.stop();
          },
          async () => {
            process.stderr.write(`runner ${options.name}: killing ${runner.executing} run(s)\n`);
            await runner.kill();
          },
        );
      },
    );
}
