import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { credentials } from "@grpc/grpc-js";
import { type ContainerRuntimeChoice, createSubprocessExecutor, logUrlTemplate, Runner } from "@supervisor/sdk";
import { type Command, InvalidArgumentError, Option } from "commander";
import { addConnectionOptions, type ConnectionOptions, tlsFrom } from "./connection.js";
import { integer, keyValue } from "./parsers.js";
import { stopOnSignals } from "./signals.js";

/** `--trusted-key id=public.pem` (repeatable) into { id: PEM }. */
function collectKeyFile(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const { key, path } = splitKeyValue(value, "--trusted-key");
  try {
    return { ...previous, [key]: readFileSync(path, "utf8") };
  } catch (error) {
    throw new InvalidArgumentError(`Cannot read ${path}: ${(error as Error).message}.`);
  }
}

/** `id=file` (--trusted-key, --sign-key). */
export function splitKeyValue(value: string, flag: string): { key: string; path: string } {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`${flag} takes id=file.`);
  return { key: value.slice(0, eq), path: value.slice(eq + 1) };
}

export function registerRunner(program: Command): void {
  addConnectionOptions(
    program
      .command("runner")
      .description("run tasks for a supervisor: connect, take assignments, report back (SIGTERM drains, then exits)"),
    { json: false },
  )
    .option("--name <name>", "unique runner name (default: <hostname>-<pid>)")
    .option("--label <key=value>", "a label matched by task runner selectors (repeatable)", keyValue("--label"))
    .addOption(new Option("--capacity <n>", "runs at once").argParser(integer(1, 10_000)).default(4))
    .option("--kinds <list>", "kinds to run, comma-separated (subprocess, wasm, container)", (v) =>
      v
        .split(",")
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .option("--trusted-key <id=file>", "ed25519 public key (PEM) that may sign specs (repeatable)", collectKeyFile)
    .option("--require-signatures", "refuse to run specs not signed by a trusted key")
    .addOption(
      new Option("--container-runtime <runtime>", "what runs container tasks (auto: podman, docker, bwrap)")
        .choices(["auto", "podman", "docker", "bwrap", "none"])
        .default("auto"),
    )
    .option("--image-dir <dir>", "where bwrap unpacks .tar images (default: <tmpdir>/supervisor-images)")
    .option("--uid <uid>", "run subprocesses as this user id", integer(0, 2 ** 32 - 2))
    .option("--gid <gid>", "run subprocesses as this group id", integer(0, 2 ** 32 - 2))
    .option(
      "--log-url <template>",
      "link each run to its logs elsewhere: an http(s) URL with {task_id}, {run_id}, {attempt} filled in",
    )
    .action(
      async (
        options: ConnectionOptions & {
          name?: string;
          label?: Record<string, string>;
          capacity: number;
          kinds?: string[];
          trustedKey?: Record<string, string>;
          requireSignatures?: boolean;
          containerRuntime: ContainerRuntimeChoice;
          imageDir?: string;
          uid?: number;
          gid?: number;
          logUrl?: string;
        },
      ) => {
        const name = options.name ?? `${hostname()}-${process.pid}`;
        const tls = tlsFrom(options);
        const runner = new Runner({
          address: options.addr,
          credentials: tls ? credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null) : undefined,
          token: options.token,
          trustedKeys: options.trustedKey ?? {},
          requireSignatures: options.requireSignatures,
          subprocess:
            options.uid !== undefined || options.gid !== undefined
              ? createSubprocessExecutor({ uid: options.uid, gid: options.gid })
              : undefined,
          name,
          labels: options.label ?? {},
          capacity: options.capacity,
          kinds: options.kinds,
          container: { runtime: options.containerRuntime, imageDir: options.imageDir },
          version: "supervisor-cli/0.1.0",
          logUrl: options.logUrl ? logUrlTemplate(options.logUrl) : undefined,
        });
        // A refusal (name in use, a token that may not) was logged by the runner in one line: exit 1.
        void runner.closed.then((refused) => refused && process.exit(1));
        const runnerId = await runner.start().catch(() => undefined);
        if (runnerId === undefined) return;
        const detection = runner.containerRuntime;
        const container = !detection
          ? ""
          : detection.runtime
            ? `; containers with ${detection.runtime}`
            : `; no container kind: ${detection.reason}`;
        process.stdout.write(
          `runner ${name} connected to ${options.addr} as ${runnerId} ` +
            `(capacity ${options.capacity}, kinds ${runner.kinds.join(",")}${container})\n`,
        );
        stopOnSignals(
          async () => {
            process.stderr.write(
              `runner ${name}: draining (finishing ${runner.executing} run(s)); press Ctrl-C again to kill them\n`,
            );
            await runner.stop();
          },
          async () => {
            process.stderr.write(`runner ${name}: killing ${runner.executing} run(s)\n`);
            await runner.kill();
          },
        );
      },
    );
}
