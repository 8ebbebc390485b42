// What @supervisor/server's commands (serve, dev) share with the CLI they plug into.
export { usageError } from "./command-line.js";
export { EXIT } from "./exit.js";
export { integer } from "./parsers.js";
export { stopOnSignals } from "./signals.js";
