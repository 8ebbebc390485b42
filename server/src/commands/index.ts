import type { Command } from "commander";
import { registerDev } from "./dev.js";
import { registerServe } from "./serve.js";

/** `supervisor serve` and `supervisor dev`: the CLI loads this module when one of them is asked for. */
export function registerServerCommands(program: Command): void {
  registerServe(program);
  registerDev(program);
}
