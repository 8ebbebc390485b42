import type { Duration, Schedule } from "@supervisor/sdk";

export const SECOND_MS = 1000;
export const DAY_MS = 86_400_000;
/** catchup_window unset or 0. */
export const DEFAULT_CATCHUP_MS = 60_000;

/** A google.protobuf.Duration in milliseconds (sub-millisecond nanos dropped); undefined stays undefined. */
export const durationMs = (d: Duration | undefined): number | undefined =>
  d === undefined ? undefined : d.seconds * 1000 + Math.floor(d.nanos / 1e6);

export const msDuration = (ms: number): Duration => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** How late a tick may still be fired. */
export const catchupMs = (definition: Schedule): number => durationMs(definition.catchupWindow) || DEFAULT_CATCHUP_MS;

/** The jitter of a definition in ms; 0 = none. */
export const jitterMs = (definition: Schedule): number => durationMs(definition.spec?.jitter) ?? 0;
