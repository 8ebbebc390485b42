import { EXIT } from "@supervisor/cli";
import { type Command, Option } from "commander";
import {
  CONFIG_KEYS,
  type Config,
  ConfigError,
  type ConfigKey,
  ConfigSchema,
  describeKey,
  envName,
  flagName,
  loadConfig,
} from "../config.js";

/** A setting's default as the schema holds it (before transforms: "15s", not 15000), or undefined. */
export function defaultOf(key: ConfigKey): unknown {
  type Def = { type: string; defaultValue?: unknown; in?: Node; innerType?: Node };
  type Node = { _zod: { def: Def } };
  let node: Node | undefined = ConfigSchema.shape[key] as unknown as Node;
  for (let depth = 0; node && depth < 10; depth++) {
    const def: Def = node._zod.def;
    if (def.type === "default") return def.defaultValue;
    node = def.in ?? def.innerType;
  }
  return undefined;
}

const shown = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/**
 * Adds --config and one flag per setting of the config schema, so flags, env
 * and file never drift apart; each flag's help shows the schema's default
 * (or this command's, from `defaults`) and its environment variable.
 */
export function addConfigOptions(
  command: Command,
  defaults: Partial<Record<ConfigKey, string | number>> = {},
): Command {
  command.addOption(new Option("--config <file>", "JSON config file").env("SUPERVISOR_CONFIG"));
  for (const key of CONFIG_KEYS) {
    const fallback = defaults[key] ?? defaultOf(key);
    const notes = [...(fallback === undefined ? [] : [`default: ${shown(fallback)}`]), `env: ${envName(key)}`];
    command.addOption(new Option(`${flagName(key)} <value>`, `${describeKey(key)} (${notes.join(", ")})`));
  }
  return command;
}

/** Reads the config from the command's flags plus env and file; exits 2 with the reasons if it is invalid. */
export function configFromOptions(
  options: Record<string, unknown>,
  defaults: Partial<Record<ConfigKey, string | number>> = {},
): Config {
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const key of CONFIG_KEYS) {
    const value = options[key];
    if (typeof value === "string") flags[key] = value;
  }
  try {
    return loadConfig({ file: options.config as string | undefined, env: process.env, flags, defaults });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`supervisor: ${error.message}\n`);
      process.exit(EXIT.USAGE);
    }
    throw error;
  }
}
