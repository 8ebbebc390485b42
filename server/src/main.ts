import { Command } from "commander";
import { registerRunner } from "./cli/runner.js";
import { registerServe } from "./cli/serve.js";

const program = new Command("supervisor")
  .description("Durable task supervisor over gRPC")
  .version("0.1.0")
  .showHelpAfterError();

registerServe(program);
registerRunner(program);

await program.parseAsync(process.argv);
