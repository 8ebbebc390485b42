import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";

/**
 * Usage mistakes exit 2 with one line saying what is wrong and one with the
 * command's usage, before any call: the address below has nothing listening,
 * so a mistake caught only after connecting would exit 69 instead.
 */
const NOWHERE = { SUPERVISOR_ADDR: "127.0.0.1:1", NO_COLOR: "1" };
const cli = (...args: string[]) => runCli(args, { env: NOWHERE });
const A_TASK_ID = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";

async function expectUsageMistake(args: string[], message: string | RegExp, usage: string) {
  const result = await cli(...args);
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines, "said once: the mistake, then the usage").toHaveLength(2);
  if (typeof message === "string") expect(lines[0]).toContain(message);
  else expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(new RegExp(`^usage: ${usage} .*\\(see \`${usage} --help\`\\)$`));
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(result.stdout).toBe("");
  return lines[0]!;
}

describe("usage mistakes exit 2, said once, with the command's usage", () => {
  it("an unknown command, with the closest one suggested", async () => {
    const line = await expectUsageMistake(["lst"], "unknown command 'lst' (did you mean list?)", "supervisor");
    expect(line).toBe("supervisor: unknown command 'lst' (did you mean list?)");
  });

  it("an unknown flag, with the closest one suggested", async () => {
    await expectUsageMistake(
      ["list", "--phse", "x"],
      "supervisor list: unknown option '--phse' (did you mean --phase?)",
      "supervisor list",
    );
  });

  it("a value outside an enum names the choices", async () => {
    await expectUsageMistake(
      ["submit", "--slot", "s", "--admission", "x", "--", "true"],
      "argument 'x' is invalid. Allowed choices are drop, queue, replace.",
      "supervisor submit",
    );
    await expectUsageMistake(["list", "--phase", "sideways"], 'Unknown phase "sideways"', "supervisor list");
    await expectUsageMistake(["token", "--name", "x", "--role", "admin"], "Allowed choices are", "supervisor token");
  });

  it("submit takes a program or --embedded, not both, and --payload only with --embedded", async () => {
    await expectUsageMistake(["submit"], "give the program to run", "supervisor submit");
    await expectUsageMistake(["submit", "--embedded", "h", "--", "true"], "leave out the command", "supervisor submit");
    await expectUsageMistake(
      ["submit", "--payload", "{}", "--", "true"],
      "--payload goes with --embedded",
      "supervisor submit",
    );
    await expectUsageMistake(
      ["submit", "--embedded", "h", "--payload", "[1]"],
      "Expected a JSON object",
      "supervisor submit",
    );
    await expectUsageMistake(
      ["submit", "--embedded", "h", "--container", "alpine"],
      "--embedded and --container are two kinds of task",
      "supervisor submit",
    );
  });

  it("numbers that are not numbers, or out of range", async () => {
    await expectUsageMistake(
      ["submit", "--priority", "abc", "--", "true"],
      "option '--priority <n>' argument 'abc' is invalid. Expected a whole number",
      "supervisor submit",
    );
    await expectUsageMistake(["submit", "--max-attempts", "0", "--", "true"], "from 1 to 1000", "supervisor submit");
    await expectUsageMistake(["list", "--limit", "5000"], "from 1 to 1000", "supervisor list");
    await expectUsageMistake(["logs", "--attempt", "-1", A_TASK_ID], "Expected a whole number", "supervisor logs");
    await expectUsageMistake(["watch", "--since", "yesterday"], "Expected a whole number", "supervisor watch");
  });

  it("a bad --capacity is refused by runner and by dev (before dev starts a server)", async () => {
    for (const capacity of ["0", "4abc", "10001", "-2"]) {
      await expectUsageMistake(["runner", "--capacity", capacity], "--capacity <n>", "supervisor runner");
      const dev = await expectUsageMistake(
        ["dev", "--capacity", capacity, "--listen", "127.0.0.1:0"],
        "--capacity <n>",
        "supervisor dev",
      );
      expect(dev).toContain("Expected a whole number from 1 to 10000");
    }
  });

  it("--env without '=' names --env (not --label), with no stack trace", async () => {
    const line = await expectUsageMistake(
      ["submit", "--env", "FOO", "--", "true"],
      "--env takes key=value",
      "supervisor submit",
    );
    expect(line).not.toContain("--label");
    await expectUsageMistake(["submit", "--label", "x", "--", "true"], "--label takes key=value", "supervisor submit");
  });

  it("durations in the one syntax; junk and unit-less numbers are refused", async () => {
    await expectUsageMistake(
      ["submit", "--timeout", "soon", "--", "true"],
      'Expected a duration such as 500ms, 15s, 1.5m, 1h30m, 24h or 7d; got "soon"',
      "supervisor submit",
    );
    await expectUsageMistake(["submit", "--timeout", "30", "--", "true"], "(add a unit: 30s", "supervisor submit");
    await expectUsageMistake(["submit", "--delay", "-5m", "--", "true"], "Expected a duration", "supervisor submit");
    await expectUsageMistake(
      ["submit", "--not-before", "tomorrow", "--", "true"],
      "Expected an RFC 3339 time such as 2030-01-02T03:04:05Z, or a duration",
      "supervisor submit",
    );
    await expectUsageMistake(["logs", "--since", "a while", A_TASK_ID], "Expected an RFC 3339 time", "supervisor logs");
  });

  it("a label selector that does not parse", async () => {
    await expectUsageMistake(
      ["list", "-l", "a in ("],
      "Expected a value, found end of input at position 6",
      "supervisor list",
    );
    await expectUsageMistake(["submit", "--selector", "zone in", "--", "true"], 'Expected "("', "supervisor submit");
  });

  it("a task id that cannot be one", async () => {
    await expectUsageMistake(["get", "task-1"], '"task-1" is not a task id, nor the start of one', "supervisor get");
  });

  describe("contradictory flags are refused, saying why", () => {
    it("--max-attempts with --restart never", async () => {
      await expectUsageMistake(
        ["submit", "--max-attempts", "3", "--restart", "never", "--", "true"],
        "--max-attempts 3 with --restart never: a task that is never restarted runs once; use --restart on-failure",
        "supervisor submit",
      );
    });

    it("--admission without --slot", async () => {
      await expectUsageMistake(
        ["submit", "--admission", "queue", "--", "true"],
        "--admission decides what happens when the task's slot is busy: it needs --slot",
        "supervisor submit",
      );
    });

    it("--not-before with --delay", async () => {
      await expectUsageMistake(
        ["submit", "--not-before", "10m", "--delay", "5m", "--", "true"],
        "--not-before and --delay both set the start time: give one",
        "supervisor submit",
      );
    });

    it("watch --since with --initial", async () => {
      await expectUsageMistake(
        ["watch", "--since", "3", "--initial"],
        "--initial starts from the current tasks",
        "supervisor watch",
      );
    });

    it("list --json with -o wide, and --watch with --page-token", async () => {
      await expectUsageMistake(
        ["list", "--json", "-o", "wide"],
        "--json and -o wide ask for two formats",
        "supervisor list",
      );
      await expectUsageMistake(
        ["list", "-w", "--page-token", "abc"],
        "--watch follows on from the newest",
        "supervisor list",
      );
    });

    it("logs --json with --timestamps or --tail", async () => {
      await expectUsageMistake(
        ["logs", "--json", "--timestamps", A_TASK_ID],
        "--timestamps shapes text output",
        "supervisor logs",
      );
      await expectUsageMistake(
        ["logs", "--json", "--tail", "3", A_TASK_ID],
        "--tail shapes text output",
        "supervisor logs",
      );
    });

    it("TLS client flags that could only be ignored", async () => {
      await expectUsageMistake(
        ["list", "--tls-cert", "c.pem"],
        "--tls-cert and --tls-key go together",
        "supervisor list",
      );
      await expectUsageMistake(
        ["list", "--tls-cert", "c.pem", "--tls-key", "k.pem"],
        "--tls-cert needs --tls-ca",
        "supervisor list",
      );
    });
  });

  it("--help and --version exit 0 on stdout", async () => {
    const help = await cli("list", "--help");
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toContain("-l, --selector <selector>");
    expect(help.stdout.replace(/\s+/g, " ")).toContain('(choices: "table", "wide", "json", default: "table")');
    expect((await cli("--version")).stdout.trim()).toBe("0.1.0");
  });
});

describe("an unreachable supervisor: every client command exits 69 with the hint", () => {
  const commands: [string, string[]][] = [
    ["submit", ["submit", "--", "true"]],
    ["submit --wait", ["submit", "--wait", "--", "true"]],
    ["get", ["get", A_TASK_ID]],
    ["get <prefix>", ["get", "0190c5e2"]],
    ["list", ["list"]],
    ["list -w", ["list", "-w"]],
    ["watch", ["watch"]],
    ["cancel", ["cancel", A_TASK_ID]],
    ["logs", ["logs", A_TASK_ID]],
    ["logs -f", ["logs", "-f", A_TASK_ID]],
    ["runners", ["runners"]],
    ["drain", ["drain", "some-runner"]],
    ["undrain", ["undrain", A_TASK_ID]],
    ["runners rm", ["runners", "rm", "some-runner"]],
  ];
  for (const [name, args] of commands) {
    it(name, async () => {
      const result = await cli(...args);
      expect(result.code, result.stderr).toBe(69);
      expect(result.stderr).toBe(
        "supervisor: cannot reach the supervisor at 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)\n" +
          "  is the supervisor running? start one with `npx supervisor dev`, or set --addr / SUPERVISOR_ADDR\n",
      );
    });
  }
});
