// What @supervisor/server's commands (serve, dev) share with the CLI they plug into.
export { EXIT } from "./connection.js";
export { stopOnSignals } from "./signals.js";
