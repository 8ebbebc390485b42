import { readFileSync } from "node:fs";
import { Metadata, status } from "@grpc/grpc-js";
import { DEFAULT_ADDRESS, SupervisorClient, SupervisorError } from "@supervisor/sdk";
import { type Command, Option } from "commander";
import { CommandLineError, usageError } from "./command-line.js";
import { CommandFailure, EXIT } from "./exit.js";

export { EXIT };

export interface ConnectionOptions {
  addr: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  json?: boolean;
}

/** --addr, --token, TLS files and --json, shared by every client command. */
export function addConnectionOptions(command: Command, { json = true } = {}): Command {
  command
    .addOption(new Option("--addr <host:port>", "supervisor address").env("SUPERVISOR_ADDR").default(DEFAULT_ADDRESS))
    .addOption(new Option("--token <token>", "bearer token").env("SUPERVISOR_TOKEN"))
    .addOption(
      new Option("--tls-ca <file>", "CA certificate (PEM) to verify the server; enables TLS").env("SUPERVISOR_TLS_CA"),
    )
    .addOption(new Option("--tls-cert <file>", "client certificate (PEM) for mutual TLS").env("SUPERVISOR_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "client key (PEM) for mutual TLS").env("SUPERVISOR_TLS_KEY"))
    .hook("preAction", (_command, actionCommand) => checkTlsFlags(actionCommand));
  if (json) command.option("--json", "machine-readable output (canonical proto JSON, one object per line)");
  return command;
}

/** TLS flags that could only be ignored are refused instead. */
function checkTlsFlags(command: Command): void {
  const { tlsCa, tlsCert, tlsKey } = command.opts<ConnectionOptions>();
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    usageError(command, "--tls-cert and --tls-key go together (mutual TLS needs both)");
  if (tlsCert && !tlsCa) usageError(command, "--tls-cert needs --tls-ca: mutual TLS runs over TLS");
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

/** The call metadata the client sends, for RunnerService calls the client has no method for. */
export function callMetadata(options: ConnectionOptions): Metadata {
  const metadata = new Metadata();
  if (options.token) metadata.set("authorization", `Bearer ${options.token}`);
  return metadata;
}

const UNREACHABLE_HINT =
  "  is the supervisor running? start one with `npx supervisor dev`, or set --addr / SUPERVISOR_ADDR\n";

/** grpc-js ends some messages with an empty "Resolution note:"; it says nothing. */
const cleaned = (message: string) => message.replace(/\s*Resolution note:\s*$/, "").trim();

/** Prints a failed command's error in one line (plus bad fields); returns its exit code. */
function reportFailure(thrown: unknown, address: string): number {
  if (thrown instanceof CommandFailure) {
    process.stderr.write(`supervisor: ${thrown.message}\n`);
    return thrown.exitCode;
  }
  const fromServer = thrown instanceof SupervisorError || typeof (thrown as { code?: unknown })?.code === "number";
  if (!fromServer) {
    // Not from a call: a file that cannot be read, say. One line, no stack.
    process.stderr.write(`supervisor: ${thrown instanceof Error ? thrown.message : String(thrown)}\n`);
    return EXIT.FAILED;
  }
  const error = SupervisorError.from(thrown);
  if (error.code === status.UNAVAILABLE && error.reason === "UNAVAILABLE") {
    // grpc-js says "No connection established. Last error: Error: connect ECONNREFUSED …. Resolution note: ".
    const cause = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(error.message)?.[1];
    process.stderr.write(
      `supervisor: cannot reach the supervisor at ${address} (${cause || cleaned(error.message)})\n${UNREACHABLE_HINT}`,
    );
    return EXIT.UNAVAILABLE;
  }
  const what = error.reason && error.reason !== error.codeName ? `${error.codeName} (${error.reason})` : error.codeName;
  const message = cleaned(error.message);
  process.stderr.write(`supervisor: ${what}${message ? `: ${message}` : ""}\n`);
  for (const violation of error.fieldViolations)
    process.stderr.write(`  ${violation.field}: ${violation.description || "invalid"}\n`);
  return error.code === status.UNAVAILABLE ? EXIT.UNAVAILABLE : EXIT.FAILED;
}

/**
 * Runs a client command: its result is the exit code; a failure becomes one
 * clear line and exit 1 (69 when the supervisor cannot be reached). Usage
 * mistakes go on to main, which prints them with the usage.
 */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await run(...args)) ?? EXIT.OK;
    } catch (thrown) {
      if (thrown instanceof CommandLineError) throw thrown;
      const command = args.at(-1) as Command;
      process.exitCode = reportFailure(thrown, command.opts<ConnectionOptions>().addr);
    }
  };
}
