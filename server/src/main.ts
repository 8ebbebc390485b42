import { Command } from "commander";
import { registerCredentialCommands } from "./cli/credentials.js";
import { registerDev } from "./cli/dev.js";
import { registerRunner } from "./cli/runner.js";
import { registerRunnerCommands } from "./cli/runners.js";
import { registerServe } from "./cli/serve.js";
import { registerSubmit } from "./cli/submit.js";
import { registerTaskCommands } from "./cli/tasks.js";

// `supervisor list | head`: a closed pipe ends the command quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const program = new Command("supervisor")
  .description("Durable task supervisor over gRPC")
  .version("0.1.0")
  .showHelpAfterError();

registerServe(program);
registerDev(program);
registerRunner(program);
registerSubmit(program);
registerTaskCommands(program);
registerRunnerCommands(program);
registerCredentialCommands(program);

await program.parseAsync(process.argv);
