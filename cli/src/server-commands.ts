import type { Command } from "commander";

/** The commands the server package adds; the CLI lists them even when it is not installed. */
export const SERVER_COMMANDS = {
  serve: "run the supervisor server",
  dev: "start a server and a local runner with zero configuration",
} as const;

const SERVER_PACKAGE = "@supervisor/server";

/** The first command word of argv ("help serve" asks about serve). */
export function commandWordOf(args: string[]): string | undefined {
  const words = args.filter((arg) => !arg.startsWith("-"));
  return words[0] === "help" ? words[1] : words[0];
}

export const isServerCommand = (word: string | undefined): word is keyof typeof SERVER_COMMANDS =>
  word !== undefined && Object.hasOwn(SERVER_COMMANDS, word);

/**
 * `serve` and `dev` belong to @supervisor/server: their flags are its config
 * schema, and it brings the native SQLite driver. The server package registers
 * them onto this program, loaded only when one of them is asked for, so the
 * client commands start fast and install anywhere.
 */
export async function addServerCommands(program: Command): Promise<boolean> {
  let module: { registerServerCommands(program: Command): void };
  try {
    // A variable specifier: the CLI does not depend on the server, at build time or at install time.
    const specifier = `${SERVER_PACKAGE}/commands`;
    module = await import(specifier);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" || !String((error as Error).message).includes(`'${SERVER_PACKAGE}`))
      throw error;
    return false;
  }
  module.registerServerCommands(program);
  return true;
}

/** Whether the server package is installed, found without loading it. */
function serverInstalled(): boolean {
  try {
    import.meta.resolve(`${SERVER_PACKAGE}/commands`);
    return true;
  } catch {
    return false;
  }
}

/** Placeholders for the top-level help (and typo suggestions) when the server commands were not loaded. */
export function addServerPlaceholders(program: Command, onUse: (name: string) => void): void {
  const note = serverInstalled() ? "" : ` (needs ${SERVER_PACKAGE})`;
  for (const [name, description] of Object.entries(SERVER_COMMANDS)) {
    program
      .command(name)
      .description(description + note)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => onUse(name));
  }
}

export const serverMissingMessage = (name: string) =>
  `\`supervisor ${name}\` needs the server package: npm install ${SERVER_PACKAGE}`;
