import { type DestinationStream, type Logger as Pino, pino, stdSerializers } from "pino";
import { DomainError, type LogFields, type Logger, type LogLevel } from "./errors.js";

export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const satisfies readonly LogLevel[];
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogOptions {
  level?: LogLevel;
  /** auto: pretty on a TTY, JSON lines otherwise. */
  format?: LogFormat;
  /** Where lines go (default stdout); `isTTY` decides what auto means. */
  destination?: { write(line: string): unknown; isTTY?: boolean };
}

/** The server's logger, plus `announce` for lines that every level shows (the serving address). */
export type ServerLogger = Logger & { announce(message: string, fields?: LogFields): void };

/**
 * JSON lines through pino (stable field names, docs/logging.md), or the same lines made readable on a
 * terminal. Errors go in `error` with their stack; a DomainError also names its `reason`.
 */
export function createLogger(options: LogOptions = {}): ServerLogger {
  const out = options.destination ?? process.stdout;
  const format = options.format ?? "auto";
  const pretty = format === "pretty" || (format === "auto" && out.isTTY === true);
  const stream: DestinationStream = pretty ? { write: (line) => out.write(prettyLine(line)) } : out;
  const settings = {
    messageKey: "msg",
    errorKey: "error",
    serializers: { error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const logger = pino({ ...settings, level: options.level ?? "info" }, stream);
  const announcer = pino({ ...settings, level: "info" }, stream);
  const log = ((message, error, fields) => write(logger, message, error, fields)) as ServerLogger;
  log.announce = (message, fields) => write(announcer, message, undefined, fields);
  return log;
}

function write(logger: Pino, message: string, error: unknown, fields: LogFields = {}): void {
  const { level = error === undefined ? "info" : "error", ...rest } = fields;
  if (!logger.isLevelEnabled(level)) return;
  const line: Record<string, unknown> = { ...rest };
  if (error !== undefined) {
    line.error = error;
    if (error instanceof DomainError && line.reason === undefined) line.reason = error.reason;
  }
  logger[level](line, message);
}

function serializeError(error: unknown): unknown {
  return error instanceof Error ? stdSerializers.errWithCause(error) : String(error);
}

const PRETTY_SKIPPED = new Set(["level", "time", "msg", "pid", "hostname", "error"]);

/** One JSON line as `time LEVEL message key=value …`, the error's stack indented below it. */
export function prettyLine(json: string): string {
  const entry = JSON.parse(json) as Record<string, unknown>;
  const fields = Object.entries(entry)
    .filter(([key]) => !PRETTY_SKIPPED.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  const head = [entry.time, String(entry.level).toUpperCase().padEnd(5), entry.msg, ...fields].join(" ");
  const error = entry.error as { stack?: string; message?: string } | string | undefined;
  const detail = error === undefined ? "" : typeof error === "string" ? error : (error.stack ?? error.message ?? "");
  return `${head}${detail ? `\n  ${detail.replaceAll("\n", "\n  ")}` : ""}\n`;
}

export const silentLogger: ServerLogger = Object.assign(() => {}, { announce: () => {} });
