import { readFileSync } from "node:fs";
import { SupervisorClient, SupervisorError } from "@supervisor/sdk";
import { type Command, Option } from "commander";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";

export interface ConnectionOptions {
  addr: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  json?: boolean;
}

/** --addr, --token, TLS files and --json, shared by every client command. */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option("--addr <host:port>", "supervisor address").env("SUPERVISOR_ADDR").default(DEFAULT_ADDRESS))
    .addOption(new Option("--token <token>", "bearer token").env("SUPERVISOR_TOKEN"))
    .addOption(
      new Option("--tls-ca <file>", "CA certificate (PEM) to verify the server; enables TLS").env("SUPERVISOR_TLS_CA"),
    )
    .addOption(new Option("--tls-cert <file>", "client certificate (PEM) for mutual TLS").env("SUPERVISOR_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "client key (PEM) for mutual TLS").env("SUPERVISOR_TLS_KEY"))
    .option("--json", "machine-readable output (proto JSON, one object per line)");
}

/** TLS material from --tls-ca (and --tls-cert/--tls-key for mutual TLS); undefined = plaintext. */
export function tlsFrom(options: ConnectionOptions): { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  if (!options.tlsCa) return undefined;
  return {
    ca: readFileSync(options.tlsCa),
    cert: options.tlsCert ? readFileSync(options.tlsCert) : undefined,
    key: options.tlsKey ? readFileSync(options.tlsKey) : undefined,
  };
}

export function connect(options: ConnectionOptions): SupervisorClient {
  return new SupervisorClient({
    address: options.addr,
    token: options.token,
    tls: tlsFrom(options),
    retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 },
  });
}

/** Exit codes scripts can rely on. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNAVAILABLE: 69, INTERRUPTED: 130 } as const;

/**
 * Runs a client command: a SupervisorError becomes one clear line (plus bad
 * fields) and exit 1 (69 when unreachable).
 */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await run(...args)) ?? EXIT.OK;
    } catch (thrown) {
      if (!(thrown instanceof SupervisorError) && !(thrown as { metadata?: unknown })?.metadata) {
        // Not from the server: a mistake in the command line (bad duration, unknown phase, ...).
        process.stderr.write(`supervisor: ${thrown instanceof Error ? thrown.message : String(thrown)}\n`);
        process.exitCode = EXIT.USAGE;
        return;
      }
      const error = SupervisorError.from(thrown);
      const unreachable = error.code === 14 && error.reason === "UNAVAILABLE";
      process.stderr.write(`supervisor: ${error.codeName} (${error.reason}): ${error.message}\n`);
      for (const violation of error.fieldViolations)
        process.stderr.write(`  ${violation.field}: ${violation.description}\n`);
      if (unreachable)
        process.stderr.write(
          "  is the supervisor running? start one with `npx supervisor dev`, or set --addr / SUPERVISOR_ADDR\n",
        );
      process.exitCode = unreachable ? EXIT.UNAVAILABLE : EXIT.FAILED;
    }
  };
}
