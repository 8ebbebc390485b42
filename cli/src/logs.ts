import {
  ErrorReason,
  type Run,
  type StreamTaskOutputResponse,
  type SupervisorClient,
  SupervisorError,
} from "@supervisor/sdk";
import { type Command, Option } from "commander";
import { usageError } from "./command-line.js";
import { action, addConnectionOptions, type ConnectionOptions, connect } from "./connection.js";
import { EXIT } from "./exit.js";
import { json } from "./format.js";
import { integer, timeOrDuration } from "./parsers.js";
import { resolveTaskId } from "./task-ids.js";
import { interruptible } from "./watch.js";

interface LogsOptions extends ConnectionOptions {
  follow?: boolean;
  attempt: number;
  timestamps?: boolean;
  tail?: number;
  since?: Date;
}

const STDERR = 2;

/** One line (or the unfinished end of one) of one stream, with the time of the chunk that ended it. */
interface Line {
  stream: number;
  time: Date;
  text: string;
}

/**
 * Prints output as the user asked: stdout to stdout and stderr to stderr,
 * each line prefixed with its chunk's time under --timestamps. Chunks are not
 * lines, so each stream remembers whether it stands at the start of a line.
 */
class OutputPrinter {
  private readonly atLineStart = new Map<number, boolean>();
  constructor(private readonly timestamps: boolean) {}

  write(stream: number, time: Date, data: Buffer | string): void {
    const out = stream === STDERR ? process.stderr : process.stdout;
    if (!this.timestamps) return void out.write(data); // the bytes as they were printed
    const text = data.toString();
    let at = this.atLineStart.get(stream) ?? true;
    let printed = "";
    for (const piece of text.split(/(?<=\n)/)) {
      if (at) printed += `${time.toISOString()} `;
      printed += piece;
      at = piece.endsWith("\n");
    }
    this.atLineStart.set(stream, at);
    out.write(printed);
  }

  truncated(droppedBytes: number): void {
    process.stderr.write(`\n[… ${droppedBytes} bytes dropped by the output cap …]\n`);
  }
}

/** The stored output's last `count` lines (both streams, in order), and the seq to follow on from. */
async function lastLines(
  client: SupervisorClient,
  taskId: string,
  options: LogsOptions,
  count: number,
): Promise<{ lines: Line[]; lastSeq: number }> {
  const lines: Line[] = [];
  const open = new Map<number, Line>(); // per stream: a line begun but not ended
  let lastSeq = 0;
  try {
    for await (const event of client.output(taskId, { attempt: options.attempt })) {
      const body = event.event;
      if (body?.$case !== "chunk") continue;
      lastSeq = body.value.seq;
      if (options.since && body.value.time && body.value.time < options.since) continue;
      const { stream } = body.value;
      for (const piece of body.value.data.toString("utf8").split(/(?<=\n)/)) {
        if (piece === "") continue;
        const line = open.get(stream) ?? { stream, time: body.value.time ?? new Date(0), text: "" };
        line.text += piece;
        line.time = body.value.time ?? line.time;
        if (!open.has(stream)) lines.push(line);
        if (piece.endsWith("\n")) open.delete(stream);
        else open.set(stream, line);
      }
      // Keep memory bounded: drop lines that can no longer be among the last `count` (an open one may still grow).
      const growing = new Set(open.values());
      while (lines.length > count + growing.size && !growing.has(lines[0]!)) lines.shift();
    }
  } catch (error) {
    // Nothing stored yet is fine when following: the output is still to come.
    if (!(options.follow && SupervisorError.from(error).reason === ErrorReason.OUTPUT_NOT_FOUND)) throw error;
  }
  return { lines: count === 0 ? [] : lines.slice(-count), lastSeq };
}

export function registerLogs(program: Command): void {
  addConnectionOptions(
    program
      .command("logs")
      .description("print a task's output (stdout to stdout, stderr to stderr)")
      .argument("<task-id>", "the id, or enough of its start to be unique")
      .option("-f, --follow", "keep printing until the run ends")
      .addOption(
        new Option("--attempt <n>", "attempt number").argParser(integer(0, 1_000_000)).default(0, "the latest"),
      )
      .option("--timestamps", "start each line with the time it was printed (RFC 3339)")
      .option("--tail <n>", "only the last n lines of the stored output (then follow, with -f)", integer(0, 1_000_000))
      .option(
        "--since <time>",
        "only output printed since an RFC 3339 time, or for a duration: 10m",
        timeOrDuration("ago"),
      ),
  ).action(
    action(async (idText: string, options: LogsOptions, self: Command) => {
      if (options.json && (options.timestamps || options.tail !== undefined))
        usageError(
          self,
          `${options.timestamps ? "--timestamps" : "--tail"} shapes text output; --json prints every chunk ` +
            "with its time, seq and offset",
        );
      const client = connect(options);
      const signal = options.follow ? interruptible() : undefined;
      const printer = new OutputPrinter(options.timestamps === true);
      try {
        const taskId = await resolveTaskId(client, idText, self);
        let sinceSeq = 0;
        if (options.tail !== undefined) {
          const { lines, lastSeq } = await lastLines(client, taskId, options, options.tail);
          for (const line of lines) printer.write(line.stream, line.time, line.text);
          if (!options.follow) {
            new LogLink(false).show(await runOf(client, taskId, options.attempt));
            return EXIT.OK;
          }
          sinceSeq = lastSeq;
        }
        const events = client.output(taskId, { attempt: options.attempt, follow: options.follow, sinceSeq, signal });
        const link = new LogLink(options.json === true);
        for await (const event of events) {
          print(event, options, printer);
          link.heard(event);
        }
        // Stored output comes without the run: ask for it, to say where its logs are kept elsewhere.
        if (!options.follow && !options.json) link.show(await runOf(client, taskId, options.attempt));
        return signal?.aborted ? EXIT.INTERRUPTED : EXIT.OK;
      } finally {
        client.close();
      }
    }),
  );
}

/** The run of `attempt` (0 = the latest), if it is listed. */
async function runOf(client: SupervisorClient, taskId: string, attempt: number): Promise<Run | undefined> {
  const runs = await client.listRuns(taskId);
  if (attempt !== 0) return runs.find((run) => run.attempt === attempt);
  return runs.reduce<Run | undefined>(
    (latest, run) => (!latest || run.attempt > latest.attempt ? run : latest),
    undefined,
  );
}

/**
 * Says on stderr, once per link (stdout stays the program's own output), where the run's logs are kept
 * outside the supervisor (Run.log_url). Under --json the run events carry it already.
 */
class LogLink {
  private shown = "";
  constructor(private readonly quiet: boolean) {}

  heard(event: StreamTaskOutputResponse): void {
    const body = event.event;
    if (body?.$case === "runStarted" || body?.$case === "runFinished") this.show(body.value.run);
  }

  show(run: Run | undefined): void {
    if (this.quiet || !run?.logUrl || run.logUrl === this.shown) return;
    this.shown = run.logUrl;
    process.stderr.write(`[logs of attempt ${run.attempt} are also at ${run.logUrl}]\n`);
  }
}

function print(event: StreamTaskOutputResponse, options: LogsOptions, printer: OutputPrinter): void {
  const body = event.event;
  if (body?.$case === "chunk" && options.since && body.value.time && body.value.time < options.since) return;
  if (options.json) {
    // Every event (chunks with seq, stream, time, offset and base64 data; truncated; run started/finished).
    process.stdout.write(`${json.output(event)}\n`);
    return;
  }
  if (body?.$case === "chunk") printer.write(body.value.stream, body.value.time ?? new Date(), body.value.data);
  else if (body?.$case === "truncated") printer.truncated(body.value.droppedBytes);
}
