import { readFileSync } from "node:fs";
import { Command } from "commander";
import { EXIT } from "./connection.js";
import { registerCredentialCommands } from "./credentials.js";
import { registerRunner } from "./runner.js";
import { registerRunnerCommands } from "./runners.js";
import {
  addServerCommands,
  addServerPlaceholders,
  commandWordOf,
  isServerCommand,
  serverMissingMessage,
} from "./server-commands.js";
import { registerSubmit } from "./submit.js";
import { registerTaskCommands } from "./tasks.js";

// `supervisor list | head`: a closed pipe ends the command quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("supervisor")
  .description("Durable task supervisor over gRPC")
  .version(version)
  .showHelpAfterError();

const missingServer = (name: string) => {
  process.stderr.write(`supervisor: ${serverMissingMessage(name)}\n`);
  process.exit(EXIT.USAGE);
};
const word = commandWordOf(process.argv.slice(2));
if (!isServerCommand(word) || !(await addServerCommands(program))) {
  if (isServerCommand(word)) missingServer(word);
  addServerPlaceholders(program, missingServer);
}
registerRunner(program);
registerSubmit(program);
registerTaskCommands(program);
registerRunnerCommands(program);
registerCredentialCommands(program);

await program.parseAsync(process.argv);
