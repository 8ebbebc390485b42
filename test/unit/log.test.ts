import { ErrorReason } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { storeUnavailable } from "../../server/src/errors.js";
import { createLogger, prettyLine } from "../../server/src/log.js";

function collected(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const log = createLogger({ format: "json", ...options, destination: { write: (line) => lines.push(line) } });
  return { log, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe("server logger", () => {
  it("an error goes in `error` with its stack, a DomainError's reason in `reason`, fields as given", () => {
    const { log, entries } = collected();
    log("recording the end of run r1 failed", storeUnavailable("SQLITE_FULL"), { task_id: "t1", run_id: "r1" });
    const [entry] = entries();
    expect(entry).toMatchObject({ level: "error", task_id: "t1", run_id: "r1", reason: ErrorReason.STORE_UNAVAILABLE });
    expect((entry!.error as { stack: string }).stack).toMatch(/^DomainError: the task store cannot be written now/);
  });

  it("the level is error with an error, info without, or the one given; lower levels are dropped", () => {
    const { log, entries } = collected({ level: "info" });
    log("plain");
    log("broke", new Error("x"));
    log("careful", undefined, { level: "warn" });
    log("detail", undefined, { level: "debug" });
    log.announce("supervisor serving on 127.0.0.1:1 (db x)");
    expect(entries().map((e) => [e.level, e.msg])).toEqual([
      ["info", "plain"],
      ["error", "broke"],
      ["warn", "careful"],
      ["info", "supervisor serving on 127.0.0.1:1 (db x)"],
    ]);
    const quiet = collected({ level: "error" });
    quiet.log.announce("supervisor serving on 127.0.0.1:1 (db x)");
    quiet.log("plain");
    expect(quiet.entries().map((e) => e.msg)).toEqual(["supervisor serving on 127.0.0.1:1 (db x)"]);
  });

  it("auto is pretty on a TTY and JSON otherwise; a pretty line shows fields and the stack below", () => {
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (line) => lines.push(line), isTTY: true } });
    log("run r1 lost", new Error("gone"), { level: "warn", task_id: "t1" });
    expect(lines[0]).toMatch(/^\S+Z WARN {2}run r1 lost task_id=t1\n {2}Error: gone\n {6}at /);
    expect(prettyLine('{"level":"info","time":"T","msg":"m","n":1}')).toBe("T INFO  m n=1\n");
    const json = collected({ format: "auto" });
    json.log("plain");
    expect(json.entries()[0]!.msg).toBe("plain");
  });
});
