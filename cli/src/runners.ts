import { UUID_PATTERN } from "@supervisor/sdk";
import type { Command } from "commander";
import { action, addConnectionOptions, type ConnectionOptions, connect, EXIT } from "./connection.js";
import { json, RUNNER_HEADER, runnerRow, runnerStateName, table } from "./format.js";

export function registerRunnerCommands(program: Command): void {
  addConnectionOptions(
    program.command("runners").description("list runners").option("--selector <selector>", "label selector"),
  ).action(
    action(async (options: ConnectionOptions & { selector?: string }) => {
      const client = connect(options);
      try {
        const runners = await client.listRunners({ labelSelector: options.selector });
        if (options.json) for (const runner of runners) process.stdout.write(`${json.runner(runner)}\n`);
        else process.stdout.write(table(RUNNER_HEADER, runners.map(runnerRow)));
      } finally {
        client.close();
      }
    }),
  );

  addConnectionOptions(
    program
      .command("drain")
      .description("stop assigning work to a runner; its running work finishes")
      .argument("<runner>", "runner id, or its name as `supervisor runners` shows it"),
  ).action(
    action(async (idOrName: string, options: ConnectionOptions) => {
      const client = connect(options);
      try {
        // Operators know runners by name; the API drains by id.
        const id = UUID_PATTERN.test(idOrName)
          ? idOrName
          : (await client.listRunners()).find((runner) => runner.name === idOrName)?.id;
        if (id === undefined) {
          process.stderr.write(
            `supervisor: no runner named ${JSON.stringify(idOrName)} (\`supervisor runners\` lists them)\n`,
          );
          return EXIT.FAILED;
        }
        const runner = await client.drain(id);
        process.stdout.write(
          options.json ? `${json.runner(runner)}\n` : `${runner.name} ${runnerStateName(runner.state)}\n`,
        );
      } finally {
        client.close();
      }
    }),
  );
}
