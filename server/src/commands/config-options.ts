import { type Command, Option } from "commander";
import { CONFIG_KEYS, type Config, ConfigError, type ConfigKey, describeKey, flagName, loadConfig } from "../config.js";

/** Adds --config and one flag per setting of the config schema, so flags, env and file never drift apart. */
export function addConfigOptions(command: Command): Command {
  command.addOption(new Option("--config <file>", "JSON config file").env("SUPERVISOR_CONFIG"));
  for (const key of CONFIG_KEYS) {
    command.addOption(new Option(`${flagName(key)} <value>`, describeKey(key)));
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
      process.exit(2);
    }
    throw error;
  }
}
