import type { Command, CommanderError } from "commander";
import { EXIT } from "./exit.js";

/** A usage mistake, found by commander or by a command, with the command it belongs to (for its usage line). */
export class CommandLineError extends Error {
  override readonly name = "CommandLineError";
  constructor(
    readonly command: Command,
    readonly error: CommanderError,
  ) {
    super(error.message);
  }
}

/**
 * Every command reports its usage mistakes by throwing CommandLineError, and
 * prints nothing itself: main prints each mistake once, in one line plus the
 * usage, and exits 2 (commander alone would print, then exit 1).
 */
export function routeErrors(command: Command): void {
  command.exitOverride((error) => {
    throw new CommandLineError(command, error);
  });
  command.configureOutput({ outputError: () => {} });
  command.showSuggestionAfterError(true);
  for (const sub of command.commands) routeErrors(sub);
}

/** "supervisor runners rm". */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(" ");
}

/** Prints the mistake and the usage; returns the exit code (0 after --help and --version). */
export function reportCommandLineError({ command, error }: CommandLineError): number {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.OK;
  if (error.code === "commander.help") return EXIT.USAGE; // no command given: the help went to stderr
  const message = error.message
    .replace(/^error: /, "")
    .replace(/\.?\n\(Did you mean (.+)\?\)$/, " (did you mean $1?)")
    .replace(/\n/g, " ");
  const path = commandPath(command);
  process.stderr.write(`${path}: ${message}\nusage: ${path} ${command.usage()}  (see \`${path} --help\`)\n`);
  return EXIT.USAGE;
}

/** A usage mistake a command found itself, such as flags that contradict each other: exit 2, said once. */
export function usageError(command: Command, message: string): never {
  command.error(message, { exitCode: EXIT.USAGE, code: "supervisor.usage" });
}
