import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Placement } from "@supervisor/sdk";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest";
import { describeOn } from "./helpers/backend.js";
import { launchBrowser, newPage, shownTaskIds } from "./helpers/browser.js";
import { runCli } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { http } from "./helpers/http.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { subprocessSpec } from "./helpers/specs.js";

// The browser sees the HTTP API, whose behaviour the http-*.test.ts files check on both backends; the
// page's own behaviour does not depend on the store, so one project runs it.
describeOn("sqlite")("dashboard in a real browser", () => {
  let server: TestServer;
  let base: string;
  let browser: Browser;
  let runner: RunnerProcess;

  beforeAll(async () => {
    server = await startTestServer({ httpListen: "127.0.0.1:0" });
    base = server.server.httpUrl!;
    browser = await launchBrowser();
    runner = await startRunner(server.address, "browser-runner", { labels: { pool: "ui" }, capacity: 4 });
  });
  afterAll(async () => {
    await browser?.close();
    await runner?.stop();
    await server?.close();
  });

  /** A task no runner takes (it stays PENDING): the list and the filters need rows that keep still. */
  const submitParked = async (labels: Record<string, string>) => {
    const spec = subprocessSpec("true", [], {
      labels,
      runnerSelector: { matchLabels: { pool: "nowhere" }, matchExpressions: [] },
    });
    const { task } = await call(rpc(server.tasks, "submitTask"), { spec, requestId: "" });
    return task!;
  };

  it("the list shows a task submitted from the CLI within a second, without a reload", async () => {
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/tasks`);
    await page.waitForSelector("table.tasks[aria-busy=false]");
    await page.evaluate(() => Object.assign(globalThis, { notReloaded: true })); // gone if the page reloads
    const submitted = await runCli(["submit", "--addr", server.address, "--label", "from=cli", "--", "true"]);
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    // The issue's own requirement: shown within a second of the submit, from the watch stream.
    await page.waitForSelector(`tr[data-task-id="${id}"]`, { timeout: 1000 });
    expect(await page.evaluate(() => (globalThis as any).notReloaded)).toBe(true);
    expect(errors).toEqual([]);
  });

  it("the phase filter and the label selector change the URL and the rows", async () => {
    const prod = await submitParked({ env: "prod", suite: "filters" });
    const dev = await submitParked({ env: "dev", suite: "filters" });
    const canceled = await submitParked({ env: "prod", suite: "filters" });
    await call(rpc(server.tasks, "cancelTask"), { id: canceled.id, reason: "test" });
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/tasks`);
    await page.waitForSelector(`tr[data-task-id="${dev.id}"]`);

    await page.selectOption("select[name=phase]", "CANCELED");
    await page.waitForURL((url) => url.searchParams.get("phase") === "CANCELED");
    await page.waitForSelector(`tr[data-task-id="${prod.id}"]`, { state: "detached" });
    const canceledRows = await shownTaskIds(page);
    expect(canceledRows).toContain(canceled.id);
    expect(await page.$$eval("tr[data-task-id] .badge", (b) => [...new Set(b.map((x) => x.textContent))])).toEqual([
      "CANCELED",
    ]);

    await page.selectOption("select[name=phase]", "");
    await page.fill("input[name=selector]", "env=prod,suite=filters");
    await page.press("input[name=selector]", "Enter");
    await page.waitForURL((url) => url.searchParams.get("selector") === "env=prod,suite=filters");
    await page.waitForSelector(`tr[data-task-id="${dev.id}"]`, { state: "detached" });
    expect(new Set(await shownTaskIds(page))).toEqual(new Set([prod.id, canceled.id]));

    // The URL alone brings the same rows back (a link, a reload).
    await page.goto(`${base}/tasks?selector=env%3Ddev%2Csuite%3Dfilters`);
    await page.waitForSelector(`tr[data-task-id="${dev.id}"]`);
    expect(await shownTaskIds(page)).toEqual([dev.id]);
    expect(errors).toEqual([]);
  });

  it("the task page follows output live, in colour, to the end of the run", async () => {
    const gate = join(server.dir, "gate");
    const script = `printf '\\033[31mfirst line\\033[0m\\n'; while [ ! -f ${gate} ]; do sleep 0.05; done; echo second line`;
    const spec = subprocessSpec("sh", ["-c", script], {
      runnerSelector: { matchLabels: { pool: "ui" }, matchExpressions: [] },
    });
    const { task } = await call(rpc(server.tasks, "submitTask"), { spec, requestId: "" });
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/tasks/${task!.id}`);
    await page.waitForSelector("pre[data-output] .ansi-red-fg:has-text('first line')");
    expect(await page.textContent("pre[data-output]")).not.toContain("second line");
    writeFileSync(gate, ""); // the task's own loop waits for it: the second line comes after the page is open
    await page.waitForSelector("pre[data-output]:has-text('second line')");
    await page.waitForSelector("[data-output-state=ended]");
    await page.waitForSelector("[data-task-page] .badge:has-text('SUCCEEDED')");
    await page.waitForSelector("[data-runs] td:has-text('1')");
    expect(errors).toEqual([]);
  });

  it("output past the per-run cap shows the truncation marker", async () => {
    const script = "echo head-line; head -c 1500000 /dev/zero | tr '\\0' x; echo; echo tail-line";
    const spec = subprocessSpec("sh", ["-c", script], {
      runnerSelector: { matchLabels: { pool: "ui" }, matchExpressions: [] },
    });
    const { task } = await call(rpc(server.tasks, "submitTask"), { spec, requestId: "" });
    await waitForTask(server.tasks, task!.id);
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/tasks/${task!.id}`);
    await page.waitForSelector("pre[data-output] .truncated:has-text('bytes of output dropped here')");
    await page.waitForSelector("pre[data-output]:has-text('tail-line')");
    expect(await page.textContent("pre[data-output]")).toContain("head-line");
    expect(errors).toEqual([]);
  });

  it("keys: / focuses the filter, j/k move, Enter opens, g r and g t jump, ? helps, t switches the theme", async () => {
    const ids = [(await submitParked({ suite: "keys" })).id, (await submitParked({ suite: "keys" })).id];
    const { page, errors } = await newPage(browser, { colorScheme: "light" });
    await page.goto(`${base}/tasks?selector=suite%3Dkeys`);
    await page.waitForSelector(`tr[data-task-id="${ids[0]}"]`);
    expect(await page.getAttribute("html", "data-theme")).toBe("light");
    await page.keyboard.press("t");
    await page.waitForSelector("html[data-theme=dark]");
    await page.keyboard.press("?");
    await page.waitForSelector("[data-help] kbd:has-text('g t')");
    await page.keyboard.press("Escape");
    await page.waitForSelector("[data-help]", { state: "detached" });
    await page.keyboard.press("/");
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.name)).toBe("selector");
    await page.keyboard.press("Escape");
    // Newest first: row 0 is the second task; j moves down to the first one, k back, j again, Enter opens it.
    await page.waitForSelector(`tr.selected[data-task-id="${ids[1]}"]`);
    await page.keyboard.press("j");
    await page.waitForSelector(`tr.selected[data-task-id="${ids[0]}"]`);
    await page.keyboard.press("k");
    await page.waitForSelector(`tr.selected[data-task-id="${ids[1]}"]`);
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    await page.waitForSelector(`[data-task-page="${ids[0]}"]`);
    await page.keyboard.press("g");
    await page.keyboard.press("r");
    await page.waitForURL(`${base}/runners`);
    await page.waitForSelector("[data-runners]");
    await page.keyboard.press("g");
    await page.keyboard.press("t");
    await page.waitForURL(`${base}/tasks`);
    expect(await page.getAttribute("html", "data-theme")).toBe("dark"); // the choice stays
    expect(errors).toEqual([]);
  });

  it("a fan-out parent's page lists its children", async () => {
    const spec = subprocessSpec("true", [], {
      placement: Placement.PLACEMENT_EACH_MATCHING_RUNNER,
      runnerSelector: { matchLabels: { pool: "ui" }, matchExpressions: [] },
    });
    const { task } = await call(rpc(server.tasks, "submitTask"), { spec, requestId: "" });
    await waitForTask(server.tasks, task!.id);
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/tasks/${task!.id}`);
    await page.waitForSelector("[data-children] tbody tr .badge:has-text('SUCCEEDED')");
    expect(await page.locator("[data-children] tbody tr").count()).toBe(1); // one matching runner
    expect(errors).toEqual([]);
  });

  it("schedules: next fire times shown; pause, unpause and trigger from the page", async () => {
    const created = await http(base, "POST", "/v1/schedules", {
      body: {
        id: "ui-nightly",
        spec: { cron: "0 2 * * *", timeZone: "UTC" },
        task: { subprocess: { command: "true" }, runnerSelector: { matchLabels: { pool: "nowhere" } } },
      },
    });
    expect(created.status).toBe(200);
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/schedules`);
    const row = "[data-schedule=ui-nightly]";
    await page.waitForSelector(`${row} td:has-text('0 2 * * *')`);
    expect(await page.textContent(`${row} td:nth-child(4)`)).toMatch(/in \d+[smhd]/);
    await page.click(`${row} button[data-action=PauseSchedule]`);
    await page.waitForSelector(`${row} .badge:has-text('PAUSED')`);
    expect((await http(base, "GET", "/v1/schedules/ui-nightly")).json.schedule.paused).toBe(true);
    await page.click(`${row} button[data-action=UnpauseSchedule]`);
    await page.waitForSelector(`${row} .badge:has-text('PAUSED')`, { state: "detached" });
    await page.click(`${row} button[data-action=TriggerSchedule]`);
    await page.waitForURL(/\/tasks\/[0-9a-f-]+$/);
    const firedId = page.url().split("/").pop()!;
    const fired = await http(base, "GET", `/v1/tasks/${firedId}`);
    expect(fired.json.task.spec.trigger).toBe("TRIGGER_SCHEDULE");
    expect(errors).toEqual([]);
  });

  it("runners: a capacity bar per runner; drain and undrain from the page", async () => {
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/runners`);
    const row = `[data-runner="${runner.name}"]`;
    await page.waitForSelector(`${row} progress[max="4"]`);
    await page.click(`${row} button[data-action=DrainRunner]`);
    await page.waitForSelector(`${row} .badge:has-text('DRAINING')`);
    const drained = await http(base, "GET", "/v1/runners");
    expect(drained.json.runners.find((r: any) => r.name === runner.name).state).toBe("RUNNER_STATE_DRAINING");
    await page.click(`${row} button[data-action=UndrainRunner]`);
    await page.waitForSelector(`${row} .badge:has-text('CONNECTED')`);
    expect(errors).toEqual([]);
  });

  it("the overview counts pending tasks and the last hour's ends by phase", async () => {
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/`);
    const overview = (await http(base, "GET", "/dashboard/overview")).json;
    expect(overview.pending).toBeGreaterThan(0);
    await page.waitForSelector(`[data-count=SUCCEEDED]:has-text("${overview.endedLastHour.SUCCEEDED}")`);
    expect(Number(await page.textContent("[data-count=PENDING]"))).toBeGreaterThan(0);
    expect(await page.locator(".sparkline .bar").count()).toBe(60);
    expect(errors).toEqual([]);
  });

  it("pages through 50 000 tasks forward and back: rows change, none twice, newest first", async () => {
    const spec = subprocessSpec("true", [], {
      runnerSelector: { matchLabels: { pool: "nowhere" }, matchExpressions: [] },
    });
    // 50 batches of 1000, four in flight: group commit folds them, so seeding takes seconds, not minutes.
    for (let round = 0; round < 50 / 4; round++) {
      const batches = Array.from({ length: Math.min(4, 50 - round * 4) }, () =>
        call(rpc(server.tasks, "batchSubmitTasks"), {
          requests: Array.from({ length: 1000 }, () => ({ spec, requestId: "" })),
          returnPartialSuccess: false,
        }),
      );
      await Promise.all(batches);
    }
    const listed = await http(base, "GET", "/v1/tasks?page_size=1");
    expect(BigInt(listed.json.revision)).toBeGreaterThan(50_000n);
    const { page, errors } = await newPage(browser);
    await page.goto(`${base}/tasks`);
    await page.waitForSelector("table.tasks[aria-busy=false] tr[data-task-id]");
    const pages: string[][] = [await shownTaskIds(page)];
    for (let i = 0; i < 5; i++) {
      const first = pages[pages.length - 1]![0]!;
      await page.click("button[data-page=older]");
      await page.waitForSelector(`tr[data-task-id="${first}"]`, { state: "detached" });
      await page.waitForSelector("table.tasks[aria-busy=false] tr[data-task-id]");
      pages.push(await shownTaskIds(page));
    }
    const all = pages.flat();
    expect(pages.every((p) => p.length === 50)).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort().reverse()).toEqual(all);
    // Back two pages with the keyboard (p = newer): the same rows as on the way forward.
    for (const expected of [pages[4]!, pages[3]!]) {
      await page.keyboard.press("p");
      await page.waitForSelector(`tr[data-task-id="${expected[0]}"]`);
      expect(await shownTaskIds(page)).toEqual(expected);
    }
    expect(errors).toEqual([]);
  }, 600_000); // seeding on a shared 2-core machine under the whole suite: a bound, not a figure
});

describeOn("sqlite")("dashboard with authentication on", () => {
  const TOKENS = { operator: "operator-token-0123456789abcdef", readonly: "readonly-token-0123456789abcdef" };
  let server: TestServer;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const tokens = JSON.stringify([
      { name: "ops", role: "operator", token: TOKENS.operator },
      { name: "viewer", role: "readonly", token: TOKENS.readonly },
    ]);
    server = await startTestServer({ tokens, httpListen: "127.0.0.1:0" });
    base = server.server.httpUrl!;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const submitParked = async () => {
    const answer = await http(base, "POST", "/v1/tasks", {
      token: TOKENS.operator,
      body: { spec: { subprocess: { command: "true" }, runnerSelector: { matchLabels: { pool: "nowhere" } } } },
    });
    expect(answer.status).toBe(200);
    return answer.json.task.id as string;
  };

  /** Opens `path`, answers the token prompt with `token`, and waits for the role to show. */
  async function signIn(path: string, token: string, role: string) {
    const opened = await newPage(browser);
    onTestFinished(() => opened.context.close());
    await opened.page.goto(`${base}${path}`);
    await opened.page.waitForSelector("[data-token-dialog]");
    await opened.page.fill("[data-token-dialog] input[name=token]", token);
    await opened.page.press("[data-token-dialog] input[name=token]", "Enter");
    await opened.page.waitForSelector(`[data-role=${role}]`);
    expect(await opened.page.evaluate(() => (globalThis as any).sessionStorage.getItem("supervisor.token"))).toBe(
      token,
    );
    return opened;
  }

  it("a readonly token sees the task but no usable cancel button, and the reason why", async () => {
    const id = await submitParked();
    const { page } = await signIn(`/tasks/${id}`, TOKENS.readonly, "readonly");
    await page.waitForSelector(`[data-task-page="${id}"]`);
    const cancel = page.locator("button[data-action=CancelTask]");
    expect(await cancel.isDisabled()).toBe(true);
    expect(await page.textContent(".action .hint")).toContain("read-only: the readonly role");
    // The server refuses it too, whatever a page does.
    const refused = await http(base, "POST", `/v1/tasks/${id}:cancel`, { token: TOKENS.readonly, body: {} });
    expect(refused.status).toBe(403);
    const still = await http(base, "GET", `/v1/tasks/${id}`, { token: TOKENS.operator });
    expect(still.json.task.status.phase).toBe("TASK_PHASE_PENDING");
  });

  it("a refusal the page did not foresee is shown as PERMISSION_DENIED", async () => {
    const id = await submitParked();
    const { page } = await signIn(`/tasks/${id}`, TOKENS.readonly, "readonly");
    await page.waitForSelector(`[data-task-page="${id}"]`);
    // The page believes it may (as with a session read before a role change); the server decides.
    await page.evaluate(`(() => {
      const button = document.querySelector("button[data-action=CancelTask]");
      button.disabled = false;
      button.click();
    })()`);
    await page.waitForSelector("[data-error-reason=ROLE_FORBIDDEN]:has-text('PERMISSION_DENIED')");
  });

  it("an operator token cancels from the task page, then reruns the task", async () => {
    const id = await submitParked();
    const { page, errors } = await signIn(`/tasks/${id}`, TOKENS.operator, "operator");
    await page.waitForSelector(`[data-task-page="${id}"] .badge:has-text('PENDING')`);
    await page.click("button[data-action=CancelTask]");
    await page.waitForSelector(`[data-task-page="${id}"] .badge:has-text('CANCELED')`);
    const answer = await http(base, "GET", `/v1/tasks/${id}`, { token: TOKENS.operator });
    expect(answer.json.task.status.phase).toBe("TASK_PHASE_CANCELED");
    // Ended, it offers Rerun instead: a new task, whose page the button opens.
    await page.click("button[data-action=RerunTask]");
    await page.waitForURL((url) => /^\/tasks\/[0-9a-f-]+$/.test(url.pathname) && !url.pathname.endsWith(id));
    const rerunId = new URL(page.url()).pathname.split("/").pop()!;
    await page.waitForSelector(`[data-task-page="${rerunId}"] .badge:has-text('PENDING')`);
    expect(errors).toEqual([]);
  });
});
