import { readFileSync } from "node:fs";
import { DurationSyntaxError, ed25519Key, formatDurationMs, parseDurationMs } from "@supervisor/sdk";
import { z } from "zod";
import { CONCURRENCY_KEY_PATTERN, MAX_CONCURRENCY_LIMIT } from "./core/concurrency.js";
import { MAX_FAIRNESS_WEIGHT } from "./core/fairness.js";
import { MAX_BURST, MAX_PER_MINUTE, MAX_PER_SECOND } from "./core/rate-limit.js";

/** Where metrics are served unless configured: taken already (another server here), they are off with a warning. */
export const DEFAULT_METRICS_LISTEN = "127.0.0.1:9464";

/** Where `supervisor dev` serves the HTTP API unless configured: taken already, it takes a free port instead. */
export const DEV_HTTP_LISTEN = "127.0.0.1:8080";

import type { LogLevel } from "./errors.js";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat } from "./log.js";

/** A JSON map of key → value, each key a concurrency, rate-limit or fairness key (the same characters). */
const perKey = <T extends z.ZodType>(kind: string, value: T) =>
  jsonText(
    z.record(z.string().regex(CONCURRENCY_KEY_PATTERN, `a ${kind} key: 1..253 characters of [A-Za-z0-9._:/-]`), value),
  );

const duration = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return parseDurationMs(value, { bareNumberIsMs: true });
      } catch (error) {
        if (!(error instanceof DurationSyntaxError)) throw error;
        ctx.addIssue({ code: "custom", message: error.message });
        return z.NEVER;
      }
    });

/** Node timers cannot wait longer (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Structured settings arrive as JSON text from env and flags; the file gives them as JSON already. */
const jsonText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "expected JSON" });
      return z.NEVER;
    }
  }, schema);

const boolean = (fallback: boolean) =>
  z.preprocess((value) => (value === "true" ? true : value === "false" ? false : value), z.boolean()).default(fallback);

export const ROLES = ["client", "runner", "operator", "readonly"] as const;
export type Role = (typeof ROLES)[number];

const tokenSchema = z
  .object({
    /** Who holds it: shown in logs and used for per-client limits. */
    name: z.string().min(1).max(128),
    role: z.enum(ROLES),
    /** Hex SHA-256 of the token (preferred: the token itself never sits in the config). */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits")
      .optional(),
    /** The token itself (convenient for development). */
    token: z.string().min(16, "at least 16 characters").optional(),
    /** Runner names this token may connect, as glob patterns ("build-*"); unset = any name. */
    runnerNames: z.array(z.string().min(1).max(253)).min(1).max(100).optional(),
  })
  .strict()
  .refine((t) => (t.sha256 === undefined) !== (t.token === undefined), "give exactly one of sha256 or token");

/**
 * Every server setting, with its default. Durations are written "15s", "7d"
 * (or a number of ms) and come out as milliseconds. Sources, later winning:
 * JSON file (--config / SUPERVISOR_CONFIG) → SUPERVISOR_<NAME> env → --<name> flags.
 */
export const ConfigSchema = z
  .object({
    listen: z
      .string()
      .min(1)
      .default("127.0.0.1:50051")
      .describe("address to listen on, host:port (port 0 = any free port)"),
    metricsListen: z
      .string()
      .default(DEFAULT_METRICS_LISTEN)
      .refine(
        (value) => value === "" || value === "off" || /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(value),
        'host:port, or "off"',
      )
      .refine(
        (value) => !/:\d+$/.test(value) || Number(value.slice(value.lastIndexOf(":") + 1)) <= 65535,
        "port > 65535",
      )
      .describe('where Prometheus scrapes GET /metrics, host:port ("off" or "" = no metrics endpoint)'),
    httpListen: z
      .string()
      .default("")
      .refine(
        (value) => value === "" || value === "off" || /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(value),
        'host:port, or "off"',
      )
      .refine(
        (value) => !/:\d+$/.test(value) || Number(value.slice(value.lastIndexOf(":") + 1)) <= 65535,
        "port > 65535",
      )
      .describe(
        'where the HTTP/JSON API is served (docs/http-api.md), host:port ("off" or "" = not served); ' +
          `TLS and tokens as for gRPC; \`dev\` serves it on ${DEV_HTTP_LISTEN} (a free port if that is taken)`,
      ),
    db: z
      .string()
      .min(1)
      .default(".supervisor/supervisor.db")
      .describe("SQLite database file (created with its folder), or a postgres:// URL of a PostgreSQL database"),
    synchronous: z
      .enum(["FULL", "NORMAL"])
      .default("FULL")
      .describe("SQLite synchronous mode: FULL survives power loss, NORMAL only process crashes"),
    heartbeatInterval: duration("5s").describe("how often runners must heartbeat"),
    leaseTtl: duration("15s").describe("a runner silent this long is disconnected and its runs lost"),
    leaderLeaseTtl: duration("5s").describe(
      "servers sharing a PostgreSQL database: a leader that stops renewing its lease is replaced after this",
    ),
    cancelGracePeriod: duration("10s").describe("time between SIGTERM and SIGKILL when a run is canceled or times out"),
    retention: duration("7d").describe("terminal tasks older than this are deleted with their runs and output"),
    idempotencyTtl: duration("24h").describe("how long request_id idempotency keys are kept"),
    journalMinRevisions: count(100_000, 1_000_000_000).describe("the watch journal keeps at least this many revisions"),
    journalMinAge: duration("24h").describe("...and at least this much time"),
    sweepInterval: duration("1m").describe("how often retention and journal compaction run"),
    bookmarkInterval: duration("10s").describe("how often watchers get a BOOKMARK"),
    groupCommitMaxBatch: count(1000, 100_000).describe(
      "writes that may share one commit (1 = a commit per write: the benchmark baseline)",
    ),
    watchMaxLag: count(10_000, 10_000_000).describe(
      "changes a watcher may fall behind before it is ended with WATCH_TOO_SLOW",
    ),
    slotQueueLimit: count(1000, 1_000_000).describe("bound of each slot's QUEUE"),
    outputCapBytes: count(1 << 20, 1 << 30).describe("stored output per run; the middle is dropped beyond it"),
    runHistoryLimit: count(100, 1_000_000).describe(
      "runs kept per task; older ones are deleted with their output (the task's status counts them)",
    ),
    minRestartDelay: duration("100ms").describe(
      "the shortest wait before a task is restarted, whatever its backoff says (stops hot restart loops)",
    ),
    shutdownGracePeriod: duration("10s").describe("on SIGTERM, how long streams get to close before they are cut"),
    connectionIdleTimeout: duration("5m")
      .refine((ms) => ms <= MAX_TIMER_MS, "at most 24d (0 = never)")
      .describe(
        "close a client connection that has had no call open for this long (0 = never); " +
          "runner Connect streams, watches and followed output are open calls, so they are never cut",
      ),
    tokens: jsonText(z.array(tokenSchema).max(10_000))
      .default([])
      .describe('bearer tokens, JSON: [{"name","role":"client|runner|operator|readonly","sha256"|"token"}]'),
    protectHealthAndReflection: boolean(false).describe("require a token for health checks and reflection too"),
    tlsCert: z.string().optional().describe("server certificate chain (PEM file); with --tls-key enables TLS"),
    tlsKey: z.string().optional().describe("server private key (PEM file)"),
    tlsClientCa: z
      .string()
      .optional()
      .describe("CA (PEM file) that client certificates must chain to: enables mutual TLS"),
    trustedKeys: jsonText(z.record(z.string().min(1).max(128), z.string().min(1)))
      .default({})
      .describe('ed25519 public keys that may sign tasks, JSON: {"key-id": "PEM or base64 raw key"}'),
    requireSignatures: jsonText(z.union([z.boolean(), z.array(z.string().min(1))]))
      .default(false)
      .describe('require signed specs: true, or slot patterns such as ["deploy-*"]'),
    maxStreamsPerClient: count(1000, 1_000_000).describe("open WatchTasks/StreamTaskOutput streams per client"),
    maxRunnersPerClient: count(1000, 1_000_000).describe("open runner connections per client"),
    concurrencyLimits: perKey("concurrency", z.number().int().min(1).max(MAX_CONCURRENCY_LIMIT))
      .default({})
      .describe('running tasks per concurrency key, JSON: {"tenant-a": 5}; wins over the tasks\' own max_running'),
    rateLimits: jsonText(
      z
        .record(
          z.string(),
          z
            .object({
              perSecond: z.number().gt(0).max(MAX_PER_SECOND).optional(),
              perMinute: z.number().gt(0).max(MAX_PER_MINUTE).optional(),
              burst: z.number().int().min(1).max(MAX_BURST).optional(),
            })
            .strict()
            .refine((rate) => (rate.perSecond === undefined) !== (rate.perMinute === undefined), {
              message: "give exactly one of perSecond and perMinute",
            }),
        )
        .superRefine((rates, ctx) => {
          for (const key of Object.keys(rates)) {
            if (CONCURRENCY_KEY_PATTERN.test(key)) continue;
            const message = `${JSON.stringify(key)} is not a rate-limit key: 1..253 characters of [A-Za-z0-9._:/-]`;
            ctx.addIssue({ code: "custom", message });
          }
        }),
    )
      .default({})
      .describe(
        'token buckets per rate-limit key, JSON: {"vendor-x": {"perSecond": 10, "burst": 20}} (or "perMinute"; ' +
          "burst default 1); wins over the tasks' own rate limits",
      ),
    fairnessWeights: perKey("fairness", z.number().int().min(1).max(MAX_FAIRNESS_WEIGHT))
      .default({})
      .describe('dispatch share per fairness key, JSON: {"tenant-a": 3} (1..1000); wins over the tasks\' own weight'),
    logLevel: z.enum(LOG_LEVELS).default("info").describe("lowest level logged: error, warn, info or debug"),
    logFormat: z
      .enum(LOG_FORMATS)
      .default("auto")
      .describe("log lines as json, pretty (for people), or auto: pretty on a terminal, JSON lines otherwise"),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.tlsCert === undefined) !== (c.tlsKey === undefined))
      ctx.addIssue({ code: "custom", path: ["tlsKey"], message: "--tls-cert and --tls-key go together" });
    if (c.tlsClientCa && !c.tlsCert)
      ctx.addIssue({ code: "custom", path: ["tlsClientCa"], message: "mutual TLS needs --tls-cert and --tls-key" });
    const isLoopback = (address: string) => {
      const host = address.slice(0, address.lastIndexOf(":")).replace(/^\[|\]$/g, "");
      return host === "localhost" || host === "::1" || host.startsWith("127.");
    };
    const loopback = isLoopback(c.listen);
    for (const [keyId, text] of Object.entries(c.trustedKeys)) {
      try {
        ed25519Key(text, "public");
      } catch (error) {
        ctx.addIssue({ code: "custom", path: ["trustedKeys"], message: `key ${keyId}: ${(error as Error).message}` });
      }
    }
    // A lease shorter than two heartbeats is lost by one late heartbeat: runners would flap and lose their runs.
    if (c.leaseTtl < 2 * c.heartbeatInterval) {
      ctx.addIssue({
        code: "custom",
        path: ["leaseTtl"],
        message:
          `${formatDurationMs(c.leaseTtl)} is shorter than twice the heartbeat interval ` +
          `(${formatDurationMs(c.heartbeatInterval)}): one late heartbeat would lose a runner and its runs; ` +
          "raise --lease-ttl or lower --heartbeat-interval",
      });
    }
    if (!loopback && c.tokens.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["listen"],
        message:
          `refusing to listen on ${c.listen} without authentication: ` +
          "configure tokens (see docs/security.md) or listen on 127.0.0.1",
      });
    }
    const httpOn = c.httpListen !== "" && c.httpListen !== "off";
    if (httpOn && !isLoopback(c.httpListen) && c.tokens.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["httpListen"],
        message:
          `refusing to serve the HTTP API on ${c.httpListen} without authentication: ` +
          "configure tokens (see docs/security.md) or serve it on 127.0.0.1",
      });
    }
    const metricsOn = c.metricsListen !== "" && c.metricsListen !== "off";
    if (metricsOn && !isLoopback(c.metricsListen) && c.tokens.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["metricsListen"],
        message:
          `refusing to serve metrics on ${c.metricsListen} without authentication: ` +
          "configure tokens (see docs/security.md) or serve them on 127.0.0.1",
      });
    }
  });

type ParsedConfig = z.output<typeof ConfigSchema>;

/** The server's settings, durations in ms. */
export interface Config {
  listen: string;
  /** host:port of the /metrics endpoint; undefined = none. */
  metricsListen?: string;
  /** host:port of the HTTP/JSON API; undefined = not served. */
  httpListen?: string;
  /** httpListen is the command's default, not asked for: if its port is taken, a free one on its host will do. */
  httpListenFallback: boolean;
  db: string;
  synchronous: "FULL" | "NORMAL";
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  leaderLeaseTtlMs: number;
  cancelGracePeriodMs: number;
  retentionMs: number;
  idempotencyTtlMs: number;
  journalMinRevisions: number;
  journalMinAgeMs: number;
  sweepIntervalMs: number;
  bookmarkIntervalMs: number;
  watchMaxLag: number;
  groupCommitMaxBatch: number;
  slotQueueLimit: number;
  outputCapBytes: number;
  runHistoryLimit: number;
  minRestartDelayMs: number;
  shutdownGracePeriodMs: number;
  /** 0 = never. */
  connectionIdleTimeoutMs: number;
  tokens: { name: string; role: Role; sha256?: string; token?: string; runnerNames?: string[] }[];
  protectHealthAndReflection: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  trustedKeys: Record<string, string>;
  requireSignatures: boolean | string[];
  maxStreamsPerClient: number;
  maxRunnersPerClient: number;
  /** Server-side limits per concurrency key (they win over TaskSpec.concurrency[].max_running). */
  concurrencyLimits: Record<string, number>;
  /** Server-side rates per rate-limit key (they win over TaskSpec.rate_limits). */
  rateLimits: Record<string, { perSecond?: number; perMinute?: number; burst?: number }>;
  /** Server-side weights per fairness key (they win over TaskSpec.fairness.weight). */
  fairnessWeights: Record<string, number>;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

function toConfig(parsed: ParsedConfig): Config {
  return {
    listen: parsed.listen,
    metricsListen: parsed.metricsListen === "" || parsed.metricsListen === "off" ? undefined : parsed.metricsListen,
    httpListen: parsed.httpListen === "" || parsed.httpListen === "off" ? undefined : parsed.httpListen,
    httpListenFallback: false,
    db: parsed.db,
    synchronous: parsed.synchronous,
    heartbeatIntervalMs: parsed.heartbeatInterval,
    leaseTtlMs: parsed.leaseTtl,
    leaderLeaseTtlMs: parsed.leaderLeaseTtl,
    cancelGracePeriodMs: parsed.cancelGracePeriod,
    retentionMs: parsed.retention,
    idempotencyTtlMs: parsed.idempotencyTtl,
    journalMinRevisions: parsed.journalMinRevisions,
    journalMinAgeMs: parsed.journalMinAge,
    sweepIntervalMs: parsed.sweepInterval,
    bookmarkIntervalMs: parsed.bookmarkInterval,
    watchMaxLag: parsed.watchMaxLag,
    groupCommitMaxBatch: parsed.groupCommitMaxBatch,
    slotQueueLimit: parsed.slotQueueLimit,
    outputCapBytes: parsed.outputCapBytes,
    runHistoryLimit: parsed.runHistoryLimit,
    minRestartDelayMs: parsed.minRestartDelay,
    shutdownGracePeriodMs: parsed.shutdownGracePeriod,
    connectionIdleTimeoutMs: parsed.connectionIdleTimeout,
    tokens: parsed.tokens,
    protectHealthAndReflection: parsed.protectHealthAndReflection,
    tlsCert: parsed.tlsCert,
    tlsKey: parsed.tlsKey,
    tlsClientCa: parsed.tlsClientCa,
    trustedKeys: parsed.trustedKeys,
    requireSignatures: parsed.requireSignatures,
    maxStreamsPerClient: parsed.maxStreamsPerClient,
    maxRunnersPerClient: parsed.maxRunnersPerClient,
    concurrencyLimits: parsed.concurrencyLimits,
    rateLimits: parsed.rateLimits,
    fairnessWeights: parsed.fairnessWeights,
    logLevel: parsed.logLevel,
    logFormat: parsed.logFormat,
  };
}

export type ConfigKey = keyof z.input<typeof ConfigSchema>;
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as ConfigKey[];

export const envName = (key: string) => `SUPERVISOR_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
export const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
export const describeKey = (key: ConfigKey) => ConfigSchema.shape[key].description ?? "";

/** A configuration that cannot be used; main prints `message` and exits 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface ConfigSources {
  /** Path of a JSON config file, if any. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, by config key. */
  flags?: Partial<Record<ConfigKey, string | number>>;
  /** Defaults that differ for this command (e.g. `dev`), below every source. */
  defaults?: Partial<Record<ConfigKey, string | number>>;
}

/** Merges the sources (later wins), validates once, and names each bad value's source. */
export function loadConfig(sources: ConfigSources): Config {
  const env = sources.env ?? {};
  const merged: Record<string, unknown> = { ...sources.defaults };
  const origin = new Map<string, string>();
  const filePath = sources.file ?? env.SUPERVISOR_CONFIG;
  if (filePath) {
    let fromFile: unknown;
    try {
      fromFile = JSON.parse(readFileSync(filePath, "utf8"));
    } catch (error) {
      throw new ConfigError(`cannot read config file ${filePath}: ${(error as Error).message}`);
    }
    if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError(`config file ${filePath} must hold a JSON object`);
    }
    for (const [key, value] of Object.entries(fromFile)) {
      merged[key] = value;
      origin.set(key, `${filePath}: "${key}"`);
    }
  }
  for (const key of CONFIG_KEYS) {
    const value = env[envName(key)];
    if (value !== undefined && value !== "") {
      merged[key] = value;
      origin.set(key, envName(key));
    }
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    merged[key] = value;
    origin.set(key, flagName(key));
  }
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "");
      // Unknown fields inside a setting (a token, a rate) are that setting's problem, named by its source.
      if (issue.code === "unrecognized_keys" && issue.path.length === 0) {
        return `  unknown setting(s) ${issue.keys.join(", ")} (in ${filePath})`;
      }
      return `  ${origin.get(key) ?? key}: ${issue.message}`;
    });
    throw new ConfigError(["invalid configuration:", ...lines].join("\n"));
  }
  const config = toConfig(result.data);
  config.httpListenFallback = config.httpListen !== undefined && !origin.has("httpListen");
  return config;
}
