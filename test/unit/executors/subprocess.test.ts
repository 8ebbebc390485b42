import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSubprocessExecutor, subprocessExecutor } from "../../../sdk/src/executors/subprocess.js";
import type { ExecutionContext, OutputStreamName } from "../../../sdk/src/executors/types.js";
import type { SubprocessExec } from "../../../sdk/src/gen/supervisor/v1/task.js";
import { waitUntil } from "../../helpers/wait.js";

/** A context that records output; the deadline is far unless a test wants it near. */
function recorder(
  options: {
    deadlineInMs?: number;
    gracePeriodMs?: number;
    signal?: AbortSignal;
    onChunk?: (stream: OutputStreamName, text: string) => void;
  } = {},
) {
  const chunks: { stream: OutputStreamName; text: string }[] = [];
  const ctx: ExecutionContext = {
    signal: options.signal ?? new AbortController().signal,
    deadline: new Date(Date.now() + (options.deadlineInMs ?? 30_000)),
    gracePeriodMs: options.gracePeriodMs ?? 2_000,
    onOutput(stream, data) {
      chunks.push({ stream, text: data.toString() });
      options.onChunk?.(stream, data.toString());
    },
  };
  const text = (stream: OutputStreamName) =>
    chunks
      .filter((chunk) => chunk.stream === stream)
      .map((chunk) => chunk.text)
      .join("");
  return { ctx, chunks, text };
}

const exec = (command: string, args: string[] = [], more: Partial<SubprocessExec> = {}): SubprocessExec => ({
  command,
  args,
  env: {},
  workingDir: "",
  ...more,
});

/** Dead: not in the process table, or a zombie nobody reaped yet (some container inits never reap orphans). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1];
    return state?.startsWith("Z") ?? false;
  } catch {
    return true; // gone between the two looks
  }
}

const eventually = (check: () => boolean, what: string) => waitUntil(check, what, 5_000);

const pidsIn = (text: string) =>
  text
    .split("\n")
    .filter((line) => /^\d+$/.test(line))
    .map(Number);

/**
 * A process that escapes the run's process group (its own session, like a daemon) and keeps the
 * run's stdout and stderr open: `sleep 300` with an extra argument unique to the test (a fraction
 * of a second), to find and kill it by. The snippet returns once the escapee is out of the group.
 */
function escapee(dir: string) {
  const marker = `0.${randomInt(10 ** 8, 10 ** 9)}`;
  const flag = join(dir, `escaped-${marker}`);
  const pattern = marker.replace(".", "\\.");
  return {
    start:
      `setsid sh -c 'touch "$1"; exec sleep 300 "$2"' sh ${flag} ${marker} & ` +
      `while [ ! -e ${flag} ]; do sleep 0.01; done`,
    isRunning: () => spawnSync("pgrep", ["-f", pattern]).status === 0,
    kill: () => spawnSync("pkill", ["-KILL", "-f", pattern]),
  };
}

describe("subprocessExecutor", () => {
  it("captures stdout and stderr, each in order", async () => {
    const { ctx, text } = recorder();
    const result = await subprocessExecutor.execute(
      exec("sh", ["-c", "echo one; echo two >&2; echo three; echo four >&2"]),
      ctx,
    );
    expect(result).toMatchObject({ outcome: "succeeded", exitCode: 0 });
    expect(text("stdout")).toBe("one\nthree\n");
    expect(text("stderr")).toBe("two\nfour\n");
  });

  it("passes argv as it is, with no shell in between", async () => {
    const { ctx, text } = recorder();
    await subprocessExecutor.execute(exec("printf", ["%s|", "a b", "$HOME", "*"]), ctx);
    expect(text("stdout")).toBe("a b|$HOME|*|");
  });

  it("reports a non-zero exit as failed with its code", async () => {
    const { ctx } = recorder();
    expect(await subprocessExecutor.execute(exec("sh", ["-c", "exit 1"]), ctx)).toMatchObject({
      outcome: "failed",
      exitCode: 1,
    });
  });

  it("reports a command that does not exist as failed, with no exit code", async () => {
    const { ctx } = recorder();
    const result = await subprocessExecutor.execute(exec("/nonexistent/no-such-program"), ctx);
    expect(result).toEqual({ outcome: "failed", error: "spawn /nonexistent/no-such-program: ENOENT" });
  });

  it("reports a working directory that does not exist as failed", async () => {
    const { ctx } = recorder();
    const result = await subprocessExecutor.execute(exec("pwd", [], { workingDir: "/nonexistent/no-such-dir" }), ctx);
    expect(result).toMatchObject({ outcome: "failed", error: expect.stringMatching(/^spawn pwd: /) });
    expect(result.exitCode).toBeUndefined();
  });

  it("runs in the working directory", async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "executor-cwd-")));
    try {
      const { ctx, text } = recorder();
      await subprocessExecutor.execute(exec("pwd", [], { workingDir: dir }), ctx);
      expect(text("stdout")).toBe(`${dir}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("forwards output as it is produced, not when the process ends", async () => {
    // The child waits for a file the test creates only once the first line arrived:
    // buffered output would leave both waiting until the deadline.
    const dir = mkdtempSync(join(tmpdir(), "executor-stream-"));
    const go = join(dir, "go");
    try {
      const { ctx, chunks } = recorder({ deadlineInMs: 20_000, onChunk: () => writeFileSync(go, "") });
      const script = 'echo a; while [ ! -e "$1" ]; do sleep 0.02; done; echo b';
      const result = await subprocessExecutor.execute(exec("sh", ["-c", script, "sh", go]), ctx);
      expect(result.outcome).toBe("succeeded");
      expect(chunks.map((chunk) => chunk.text).join("")).toBe("a\nb\n");
      expect(chunks[0]?.text).toBe("a\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("deadline and cancel", () => {
    it("kills the process at the deadline and reports timeout", async () => {
      const { ctx, text } = recorder({ deadlineInMs: 300 });
      const result = await subprocessExecutor.execute(exec("sh", ["-c", "echo $$; exec sleep 30"]), ctx);
      expect(result).toMatchObject({ outcome: "timeout", error: "stopped by SIGTERM" });
      const [pid] = pidsIn(text("stdout"));
      expect(pid).toBeDefined();
      await eventually(() => isGone(pid!), `process ${pid} gone`);
    });

    it("SIGKILLs a process that ignores SIGTERM once the grace period is over", async () => {
      const { ctx, text } = recorder({ deadlineInMs: 300, gracePeriodMs: 300 });
      const result = await subprocessExecutor.execute(exec("sh", ["-c", 'trap "" TERM; echo $$; sleep 30']), ctx);
      expect(result).toMatchObject({ outcome: "timeout", error: "stopped by SIGKILL" });
      const [pid] = pidsIn(text("stdout"));
      await eventually(() => isGone(pid!), `process ${pid} gone`);
    });

    it("kills the whole process group, grandchildren included", async () => {
      const { ctx, text } = recorder({ deadlineInMs: 300 });
      const result = await subprocessExecutor.execute(exec("sh", ["-c", "sleep 30 & echo $!; wait"]), ctx);
      expect(result.outcome).toBe("timeout");
      const [grandchild] = pidsIn(text("stdout"));
      expect(grandchild).toBeDefined();
      await eventually(() => isGone(grandchild!), `grandchild ${grandchild} gone`);
    });

    it("does not wait for a background process that outlives its parent and holds the output open", async () => {
      const { ctx, text } = recorder({ deadlineInMs: 20_000 });
      const result = await subprocessExecutor.execute(exec("sh", ["-c", "sleep 300 & echo $!"]), ctx);
      expect(result).toMatchObject({ outcome: "succeeded", exitCode: 0 });
      const [grandchild] = pidsIn(text("stdout"));
      await eventually(() => isGone(grandchild!), `grandchild ${grandchild} gone`);
    });

    it("stops the process on abort and reports canceled", async () => {
      const controller = new AbortController();
      const { ctx, text } = recorder({ signal: controller.signal, onChunk: () => controller.abort() });
      const result = await subprocessExecutor.execute(exec("sh", ["-c", "sleep 30 & echo $!; wait"]), ctx);
      expect(result.outcome).toBe("canceled");
      const [grandchild] = pidsIn(text("stdout"));
      await eventually(() => isGone(grandchild!), `grandchild ${grandchild} gone`);
    });

    it("kills the group with SIGKILL at once when the grace period is 0", async () => {
      const controller = new AbortController();
      const { ctx, text } = recorder({
        signal: controller.signal,
        gracePeriodMs: 0,
        onChunk: () => controller.abort(),
      });
      // Dies of SIGTERM at once, so only a SIGKILL sent first is reported as the cause.
      const result = await subprocessExecutor.execute(exec("sh", ["-c", "echo $$; exec sleep 30"]), ctx);
      expect(result).toMatchObject({ outcome: "canceled", error: "stopped by SIGKILL" });
      const [pid] = pidsIn(text("stdout"));
      await eventually(() => isGone(pid!), `process ${pid} gone`);
    });

    it("a stop with a grace period of 0 kills leftovers at once, even while a SIGTERM waits out its grace", async () => {
      // The leader exits; a member of its group that ignores SIGTERM holds the output open. The grace
      // period is longer than the test may take: only the stop with a grace of 0 can end the run in time.
      const controller = new AbortController();
      const { ctx, text } = recorder({ signal: controller.signal, gracePeriodMs: 600_000 });
      // Ignored before the fork, so the background sleep can never die of the SIGTERM sent at the exit.
      const script = 'trap "" TERM; sleep 300 & echo $!; echo $$';
      const running = subprocessExecutor.execute(exec("sh", ["-c", script]), ctx);
      await eventually(() => pidsIn(text("stdout")).length === 2, "both pids printed");
      const [leftover, leader] = pidsIn(text("stdout"));
      try {
        // Reaped, not only dead: node has seen the exit, so the SIGTERM to the leftovers has been sent.
        await eventually(() => !existsSync(`/proc/${leader}`), `leader ${leader} reaped`);
        expect(isGone(leftover!)).toBe(false);
        ctx.gracePeriodMs = 0;
        controller.abort();
        expect(await running).toMatchObject({ outcome: "succeeded", exitCode: 0 });
        await eventually(() => isGone(leftover!), `leftover ${leftover} gone`);
      } finally {
        if (!isGone(leftover!)) process.kill(leftover!, "SIGKILL");
      }
    });

    it("does not start at all when already canceled or past the deadline", async () => {
      const dir = mkdtempSync(join(tmpdir(), "executor-nostart-"));
      try {
        const marker = join(dir, "started");
        const controller = new AbortController();
        controller.abort();
        expect(
          await subprocessExecutor.execute(exec("touch", [marker]), recorder({ signal: controller.signal }).ctx),
        ).toEqual({ outcome: "canceled" });
        expect(await subprocessExecutor.execute(exec("touch", [marker]), recorder({ deadlineInMs: -1 }).ctx)).toEqual({
          outcome: "timeout",
        });
        expect(existsSync(marker)).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("is not fooled by a deadline beyond the longest timer node allows", async () => {
      const { ctx } = recorder({ deadlineInMs: 60 * 24 * 3600_000 });
      expect(await subprocessExecutor.execute(exec("sleep", ["0.2"]), ctx)).toMatchObject({ outcome: "succeeded" });
    });
  });

  describe("a process that escaped the group and holds the output open", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "executor-escape-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("does not keep a run that exited going: it succeeds with the output written before", async () => {
      const escaped = escapee(dir);
      try {
        const { ctx, text } = recorder();
        const script = `echo before; ${escaped.start}; echo done`;
        const result = await subprocessExecutor.execute(exec("sh", ["-c", script]), ctx);
        expect(result).toEqual({ outcome: "succeeded", exitCode: 0 });
        expect(text("stdout")).toBe("before\ndone\n");
        expect(escaped.isRunning()).toBe(true); // it was still there, holding the output, when the run ended
      } finally {
        escaped.kill();
      }
    });

    it("reports the leader's exit code, not the escapee's", async () => {
      const escaped = escapee(dir);
      try {
        const { ctx, text } = recorder();
        const result = await subprocessExecutor.execute(
          exec("sh", ["-c", `${escaped.start}; echo bye >&2; exit 7`]),
          ctx,
        );
        expect(result).toEqual({ outcome: "failed", exitCode: 7 });
        expect(text("stderr")).toBe("bye\n");
        expect(escaped.isRunning()).toBe(true);
      } finally {
        escaped.kill();
      }
    });

    it("ends a canceled run once its group is gone, with the output written before", async () => {
      const escaped = escapee(dir);
      try {
        const controller = new AbortController();
        const { ctx, text } = recorder({
          signal: controller.signal,
          onChunk: () => text("stdout").includes("escaped") && controller.abort(),
        });
        const script = `echo before; ${escaped.start}; echo escaped; sleep 300`;
        const result = await subprocessExecutor.execute(exec("sh", ["-c", script]), ctx);
        expect(result).toMatchObject({ outcome: "canceled", error: "stopped by SIGTERM" });
        expect(text("stdout")).toBe("before\nescaped\n");
        expect(escaped.isRunning()).toBe(true);
      } finally {
        escaped.kill();
      }
    });

    it("ends a timed-out run once its group is gone, with the output written before", async () => {
      const escaped = escapee(dir);
      try {
        // SIGTERM is ignored until the escape is done, so the deadline cannot come before it: then
        // the group ends by SIGKILL after the grace period instead.
        const { ctx, text } = recorder({ deadlineInMs: 300, gracePeriodMs: 300 });
        const script = `trap "" TERM; echo before; ${escaped.start}; trap - TERM; echo escaped; sleep 300`;
        const result = await subprocessExecutor.execute(exec("sh", ["-c", script]), ctx);
        expect(result.outcome).toBe("timeout");
        expect(text("stdout")).toBe("before\nescaped\n");
        expect(escaped.isRunning()).toBe(true);
      } finally {
        escaped.kill();
      }
    });
  });

  describe("environment", () => {
    const saved: Record<string, string | undefined> = {};
    const planted = {
      LD_PRELOAD: "/nonexistent/preload.so",
      LD_LIBRARY_PATH: "/nonexistent/lib",
      NODE_OPTIONS: "--no-warnings",
      FOO: "from-runner",
      LC_TEST_EXECUTOR: "kept",
    };

    beforeEach(() => {
      for (const [key, value] of Object.entries(planted)) {
        saved[key] = process.env[key];
        process.env[key] = value;
      }
    });
    afterEach(() => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    const childEnv = async (executor = subprocessExecutor, env: Record<string, string> = {}) => {
      const { ctx, text } = recorder();
      await executor.execute(exec("env", [], { env }), ctx);
      return Object.fromEntries(
        text("stdout")
          .trim()
          .split("\n")
          .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
      );
    };

    it("passes only the allowlist (and LC_*) of the runner's environment, plus the spec's", async () => {
      const env = await childEnv(subprocessExecutor, { GREETING: "hi there", FOO: "from-spec" });
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.GREETING).toBe("hi there");
      expect(env.FOO).toBe("from-spec");
      expect(env.LC_TEST_EXECUTOR).toBe("kept");
      expect(env).not.toHaveProperty("LD_PRELOAD");
      expect(env).not.toHaveProperty("LD_LIBRARY_PATH");
      expect(env).not.toHaveProperty("NODE_OPTIONS");
    });

    it("does not pass a runner variable that is not allowlisted", async () => {
      expect(await childEnv()).not.toHaveProperty("FOO");
    });

    it("never passes LD_PRELOAD, LD_LIBRARY_PATH or NODE_OPTIONS, even when allowlisted", async () => {
      const executor = createSubprocessExecutor({
        envAllowlist: ["PATH", "FOO", "LD_PRELOAD", "LD_LIBRARY_PATH", "NODE_OPTIONS"],
      });
      const env = await childEnv(executor);
      expect(env.FOO).toBe("from-runner");
      expect(Object.keys(env).filter((key) => key.startsWith("LD_") || key === "NODE_OPTIONS")).toEqual([]);
    });
  });

  it.skipIf(process.getuid?.() !== 0)("runs as another user when given uid and gid", async () => {
    const { ctx, text } = recorder();
    const executor = createSubprocessExecutor({ uid: 65534, gid: 65534 });
    expect(await executor.execute(exec("id", ["-u"]), ctx)).toMatchObject({ outcome: "succeeded" });
    expect(text("stdout")).toBe("65534\n");
  });
});
