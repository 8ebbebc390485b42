import { CommandLineError, reportCommandLineError } from "./command-line.js";
import { buildProgram } from "./program.js";

// `supervisor list | head`: a closed pipe ends the command quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const args = process.argv.slice(2);
try {
  await (await buildProgram(args)).parseAsync(args, { from: "user" });
} catch (error) {
  if (!(error instanceof CommandLineError)) throw error;
  process.exitCode = reportCommandLineError(error);
}
