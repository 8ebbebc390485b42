import type { Command } from "commander";
import { action, addConnectionOptions, connect, type ConnectionOptions } from "./connection.js";
import { json, RUNNER_HEADER, runnerRow, runnerStateName, table } from "./format.js";

export function registerRunnerCommands(program: Command): void {
  addConnectionOptions(program.command("runners").description("list runners").option("--selector <selector>", "label selector")).action(
    action(async (options: ConnectionOptions & { selector?: string }) => {
      const client = connect(options);
      try {
        const runners = await client.listRunners({ labelSelector: options.selector });
        if (options.json) for (const runner of runners) process.stdout.write(json.runner(runner) + "\n");
        else process.stdout.write(table(RUNNER_HEADER, runners.map(runnerRow)));
      } finally {
        client.close();
      }
    }),
  );

  addConnectionOptions(program.command("drain").description("stop assigning work to a runner; its running work finishes").argument("<runner-id>")).action(
    action(async (id: string, options: ConnectionOptions) => {
      const client = connect(options);
      try {
        const runner = await client.drain(id);
        process.stdout.write(options.json ? json.runner(runner) + "\n" : `${runner.name} ${runnerStateName(runner.state)}\n`);
      } finally {
        client.close();
      }
    }),
  );
}
