import type { ConcurrencyKey, TaskSpec } from "@supervisor/sdk";

/** A concurrency key after templating: as a slot, 1..253 characters of [A-Za-z0-9._:/-]. */
export const CONCURRENCY_KEY_PATTERN = /^[A-Za-z0-9._:/-]{1,253}$/;
export const MAX_CONCURRENCY_KEYS = 8;
export const MAX_CONCURRENCY_LIMIT = 1_000_000;

/** `{labels.NAME}` in a key: replaced by the task's label NAME. */
const LABEL_REFERENCE = /\{labels\.([^{}]*)\}/g;

/** A templated key filled from the labels, or the name of the first label it needs and the task lacks. */
export function fillKeyTemplate(
  template: string,
  labels: Readonly<Record<string, string>>,
): { key: string } | { missing: string } {
  let missing: string | undefined;
  const key = template.replace(LABEL_REFERENCE, (_, name: string) => {
    const value = labels[name];
    if (value === undefined) missing ??= name;
    return value ?? "";
  });
  return missing === undefined ? { key } : { missing };
}

/** Server-side limits by key (config concurrencyLimits); they win over a task's own max_running. */
export type ConcurrencyLimits = ReadonlyMap<string, number>;

export const concurrencyLimitsOf = (config: Readonly<Record<string, number>>): ConcurrencyLimits =>
  new Map(Object.entries(config));

/**
 * The limit a task's key is held to: min(its max_running, the server's limit), 0 (max_running unset)
 * meaning the server's. A server limit caps every task of the key; a task may ask for fewer. 0 when
 * neither gives one (max_running 0 names a server limit since removed from the config): nothing of that
 * task starts, and its waiting message says why.
 */
export function effectiveLimit(key: ConcurrencyKey, limits: ConcurrencyLimits): number {
  const server = limits.get(key.key);
  if (server === undefined) return key.maxRunning;
  return key.maxRunning === 0 ? server : Math.min(server, key.maxRunning);
}

const NO_KEYS: readonly string[] = [];

/** The keys a task's runs hold (its spec's, templated at submit). */
export const concurrencyKeysOf = (spec: TaskSpec | undefined): readonly string[] =>
  spec?.concurrency?.length ? spec.concurrency.map(({ key }) => key) : NO_KEYS;
