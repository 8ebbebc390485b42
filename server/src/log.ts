import type { Logger } from "./errors.js";

/** One line per event on stderr; errors with their stack, so operators can file a bug. */
export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  return (message, error) => {
    const detail =
      error === undefined ? "" : `: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    write(`${new Date().toISOString()} ${message}${detail}\n`);
  };
}

export const silentLogger: Logger = () => {};
