import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerCancel } from "./cancel.js";
import { routeErrors } from "./command-line.js";
import { registerCredentialCommands } from "./credentials.js";
import { EXIT } from "./exit.js";
import { registerExplain } from "./explain.js";
import { registerGet } from "./get.js";
import { registerList } from "./list.js";
import { registerLogs } from "./logs.js";
import { registerPauses } from "./pauses.js";
import { registerRerun } from "./rerun.js";
import { registerRunner } from "./runner.js";
import { registerRunnerCommands } from "./runners.js";
import { registerSchedule } from "./schedule.js";
import {
  addServerCommands,
  addServerPlaceholders,
  commandWordOf,
  isServerCommand,
  serverMissingMessage,
} from "./server-commands.js";
import { registerSubmit } from "./submit.js";
import { registerWatch } from "./watch.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const missingServer = (name: string): never => {
  process.stderr.write(`supervisor: ${serverMissingMessage(name)}\n`);
  process.exit(EXIT.USAGE);
};

/** The whole `supervisor` command line, ready to parse `args` (serve and dev loaded only if asked for). */
export async function buildProgram(args: string[]): Promise<Command> {
  const program = new Command("supervisor").description("Durable task supervisor over gRPC").version(version);
  const word = commandWordOf(args);
  if (isServerCommand(word)) {
    if (!(await addServerCommands(program))) missingServer(word);
  } else addServerPlaceholders(program, missingServer);
  registerRunner(program);
  registerSubmit(program);
  registerGet(program);
  registerExplain(program);
  registerList(program);
  registerWatch(program);
  registerCancel(program);
  registerRerun(program);
  registerLogs(program);
  registerRunnerCommands(program);
  registerSchedule(program);
  registerPauses(program);
  registerCredentialCommands(program);
  routeErrors(program);
  return program;
}
