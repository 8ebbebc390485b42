import { type RunnerInfo, type SupervisorClient, UUID_PATTERN, unaryCall } from "@supervisor/sdk";
import type { Command } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, callMetadata, connect } from "./connection.js";
import { CommandFailure } from "./exit.js";
import { json, RUNNER_HEADER, runnerRow, runnerStateName, table } from "./format.js";
import { selectorText } from "./parsers.js";

const RUNNER_ARGUMENT = "runner id, or its name as `supervisor runners` shows it";

/** Operators know runners by name; the API takes ids. */
async function resolveRunnerId(client: SupervisorClient, idOrName: string): Promise<string> {
  if (UUID_PATTERN.test(idOrName)) return idOrName;
  const runner = (await client.listRunners()).find((r) => r.name === idOrName);
  if (!runner)
    throw new CommandFailure(`no runner named ${JSON.stringify(idOrName)} (\`supervisor runners\` lists them)`);
  return runner.id;
}

type RunnerCall = (client: SupervisorClient, runnerId: string, options: ConnectionOptions) => Promise<RunnerInfo>;

/** drain, undrain, runners rm: resolve the runner, make the call, print it. */
function runnerCommand(command: Command, call: RunnerCall, describe: (runner: RunnerInfo) => string): void {
  addConnectionOptions(command.argument("<runner>", RUNNER_ARGUMENT)).action(
    action(async (idOrName: string, options: ConnectionOptions) => {
      const client = connect(options);
      try {
        const runner = await call(client, await resolveRunnerId(client, idOrName), options);
        process.stdout.write(options.json ? `${json.runner(runner)}\n` : `${describe(runner)}\n`);
      } finally {
        client.close();
      }
    }),
  );
}

// UndrainRunner and DeleteRunner through the generated client (the SDK client has methods for neither yet).
const undrain: RunnerCall = async (client, runnerId, options) =>
  (
    await unaryCall(client.runners.undrainRunner.bind(client.runners), { runnerId }, callMetadata(options), {
      deadlineMs: 30_000,
    })
  ).runner!;
const forget: RunnerCall = async (client, runnerId, options) =>
  (
    await unaryCall(client.runners.deleteRunner.bind(client.runners), { runnerId }, callMetadata(options), {
      deadlineMs: 30_000,
    })
  ).runner!;

const stateLine = (runner: RunnerInfo) => `${runner.name} ${runnerStateName(runner.state)}`;

export function registerRunnerCommands(program: Command): void {
  const runners = addConnectionOptions(
    program
      .command("runners")
      .description("list runners (runners rm <runner>: forget a disconnected one)")
      .option("-l, --selector <selector>", "label selector", selectorText),
  ).action(
    action(async (options: ConnectionOptions & { selector?: string }) => {
      const client = connect(options);
      try {
        const list = await client.listRunners({ labelSelector: options.selector });
        if (options.json) for (const runner of list) process.stdout.write(`${json.runner(runner)}\n`);
        else process.stdout.write(table(RUNNER_HEADER, list.map(runnerRow)));
      } finally {
        client.close();
      }
    }),
  );
  runnerCommand(
    runners
      .command("rm")
      .alias("forget")
      .description("forget a DISCONNECTED runner (a connected one is refused: stop it first)"),
    forget,
    (runner) => `${runner.name} forgotten`,
  );
  runnerCommand(
    program.command("drain").description("stop assigning work to a runner; its running work finishes"),
    (client, runnerId) => client.drain(runnerId),
    stateLine,
  );
  runnerCommand(
    program.command("undrain").description("lift a drain: the runner takes new work again"),
    undrain,
    stateLine,
  );
}
