import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer;
let runner: RunnerProcess;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  server = await startTestServer();
  runner = await startRunner(server.address, "schedule-cli-runner");
  env = { SUPERVISOR_ADDR: server.address, NO_COLOR: "1" };
});
afterAll(async () => {
  await runner?.stop();
  await server?.close();
});

const cli = (...args: string[]) => runCli(args, { env });
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
/** The JSON of `schedule get <id> --json`. */
const getJson = async (id: string) => {
  const result = await cli("schedule", "get", id, "--json");
  expect(result).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(result.stdout);
};

describe("supervisor schedule", () => {
  it("create prints what it made and when it fires next; --json prints the schedule", async () => {
    const plain = await cli(
      "schedule",
      "create",
      "cli-nightly",
      "--cron",
      "0 3 * * *",
      "--tz",
      "Europe/Berlin",
      "-l",
      "suite=schedule-cli",
      "--timeout",
      "30s",
      "--",
      "echo",
      "nightly",
    );
    expect(plain.stderr).toBe("");
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^schedule cli-nightly created; next fire \d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z\n$/);
    const asJson = await cli(
      "schedule",
      "create",
      "cli-poll",
      "--every",
      "1h30m",
      "--overlap",
      "buffer-one",
      "--json",
      "--",
      "true",
    );
    expect(asJson.code).toBe(0);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      id: "cli-poll",
      spec: { interval: "5400s" },
      overlap: "OVERLAP_POLICY_BUFFER_ONE",
      generation: "1",
      task: { subprocess: { command: "true" } },
    });
  });

  it("list prints a table of id, when, overlap, paused, next and last fire, counts; -l filters; --json pages", async () => {
    const table = await cli("schedule", "list");
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+WHEN\s+OVERLAP\s+PAUSED\s+NEXT FIRE\s+LAST FIRE\s+FIRED\/MISSED\/SKIPPED$/);
    expect(lines.find((line) => line.startsWith("cli-nightly "))).toMatch(
      /^cli-nightly\s+0 3 \* \* \* Europe\/Berlin\s+skip\s+no\s+\d{4}-\S+Z\s+-\s+0\/0\/0$/,
    );
    expect(lines.find((line) => line.startsWith("cli-poll "))).toMatch(/^cli-poll\s+every 90m\s+buffer-one\s+no\s/);
    const filtered = jsonLines((await cli("schedule", "list", "-l", "suite=schedule-cli", "--json")).stdout);
    expect(filtered.flatMap((page) => page.schedules.map((s: { id: string }) => s.id))).toEqual(["cli-nightly"]);
  });

  it("get shows the next 5 fire times and how to list its tasks; --json parses", async () => {
    const result = await cli("schedule", "get", "cli-nightly");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("when:       0 3 * * * Europe/Berlin\n");
    expect(result.stdout).toMatch(/next fires:\n( {2}\d{4}-\d\d-\d\dT\d\d:00:00\.000Z\n){5}recent tasks/);
    expect(result.stdout).toContain("supervisor list -l supervisor.dev/schedule=cli-nightly");
    const schedule = await getJson("cli-nightly");
    expect(schedule.status.nextFireTimes).toHaveLength(5);
  });

  it("update changes only the flags given: the cron, and the template's timeout (its command stays)", async () => {
    const result = await cli("schedule", "update", "cli-nightly", "--cron", "30 4 * * *", "--timeout", "5m");
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^schedule cli-nightly updated \(generation 2\); next fire \S+Z\n$/);
    const schedule = await getJson("cli-nightly");
    expect(schedule).toMatchObject({
      generation: "2",
      spec: { cron: "30 4 * * *", timeZone: "Europe/Berlin" },
      labels: { suite: "schedule-cli" },
      task: { timeout: "300s", subprocess: { command: "echo", args: ["nightly"] } },
    });
  });

  it("pause and unpause, with a note", async () => {
    const paused = await cli("schedule", "pause", "cli-nightly", "--note", "maintenance");
    expect(paused).toMatchObject({ code: 0, stdout: "schedule cli-nightly paused\n" });
    expect(await getJson("cli-nightly")).toMatchObject({ paused: true, note: "maintenance" });
    const unpaused = await cli("schedule", "unpause", "cli-nightly", "--json");
    expect(unpaused.code).toBe(0);
    const schedule = JSON.parse(unpaused.stdout);
    expect(schedule.paused).toBeUndefined(); // proto JSON leaves false out
    expect(schedule.status.nextFireTimes).toHaveLength(5);
  });

  it("trigger fires a named definition now and prints the task id; the task is the schedule's", async () => {
    const created = await cli("schedule", "create", "cli-greet", "--", "echo", "hello");
    expect(created.stdout).toBe("schedule cli-greet created; fired by `supervisor schedule trigger`\n");
    const triggered = await cli("schedule", "trigger", "cli-greet", "--arg", "bye", "--label", "run=manual");
    expect(triggered.stderr).toBe("");
    const id = triggered.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const task = await waitForTask(server.tasks, id);
    expect(task.spec!.labels).toMatchObject({ "supervisor.dev/schedule": "cli-greet", run: "manual" });
    expect(task.spec!.exec).toMatchObject({ $case: "subprocess", value: { command: "echo", args: ["bye"] } });
    const asJson = JSON.parse((await cli("schedule", "trigger", "cli-greet", "--json")).stdout);
    expect(asJson.spec).toMatchObject({ trigger: "TRIGGER_SCHEDULE", scheduledBy: { scheduleId: "cli-greet" } });
    await waitForTask(server.tasks, asJson.id);
    const listed = jsonLines((await cli("list", "-l", "supervisor.dev/schedule=cli-greet", "--json")).stdout);
    expect(listed.flatMap((page) => page.tasks.map((t: { id: string }) => t.id)).sort()).toEqual(
      [id, asJson.id].sort(),
    );
    expect((await getJson("cli-greet")).status).toMatchObject({ fired: "2", recentTaskIds: [asJson.id, id] });
  });

  it("an interval schedule fires by itself", async () => {
    expect((await cli("schedule", "create", "cli-ticker", "--every", "1s", "--", "true")).code).toBe(0);
    const fired = await waitUntil(async () => {
      const pages = jsonLines((await cli("list", "-l", "supervisor.dev/schedule=cli-ticker", "--json")).stdout);
      return pages.flatMap((page) => page.tasks ?? [])[0];
    }, "a task fired by cli-ticker");
    expect(fired.spec).toMatchObject({ trigger: "TRIGGER_SCHEDULE", scheduledBy: { scheduleId: "cli-ticker" } });
    expect((await cli("schedule", "delete", "cli-ticker")).code).toBe(0);
  });

  it("delete removes it: get then prints SCHEDULE_NOT_FOUND and exits 1", async () => {
    const deleted = await cli("schedule", "delete", "cli-greet");
    expect(deleted).toMatchObject({ code: 0, stdout: "schedule cli-greet deleted\n" });
    const gone = await cli("schedule", "get", "cli-greet");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^supervisor: NOT_FOUND \(SCHEDULE_NOT_FOUND\)/);
    const unknown = await cli("schedule", "get", "cli-never-was");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("SCHEDULE_NOT_FOUND");
  });

  it("create of a taken id says SCHEDULE_EXISTS; a bad cron names the field; usage mistakes exit 2", async () => {
    const taken = await cli("schedule", "create", "cli-nightly", "--every", "1m", "--", "true");
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("ALREADY_EXISTS (SCHEDULE_EXISTS)");
    const badCron = await cli("schedule", "create", "cli-bad", "--cron", "61 * * * *", "--", "true");
    expect(badCron.code).toBe(1);
    expect(badCron.stderr).toContain("schedule.spec.cron:");
    const usage = await cli("schedule", "create", "cli-bad", "--cron", "@daily", "--every", "1m", "--", "true");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--cron and --every each say when it fires: give one");
    expect(usage.stderr).toContain("usage: supervisor schedule create");
  });
});
