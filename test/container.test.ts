import { randomInt } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import {
  type ContainerExec,
  ErrorReason,
  RunPhase,
  type StreamTaskOutputResponse,
  TaskPhase,
  TaskReason,
  type TaskSpec,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage, hasBwrap } from "./helpers/busybox-image.js";
import { runCli } from "./helpers/cli.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { collect } from "./helpers/streams.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer;
const runners: RunnerProcess[] = [];
let dir: string;
beforeAll(async () => {
  server = await startTestServer({ heartbeatInterval: "200ms", leaseTtl: "1s", cancelGracePeriod: "1s" });
  dir = tempDir("supervisor-container-");
});
afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop("SIGKILL")));
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const selector = (pool: string) => ({ matchLabels: { pool }, matchExpressions: [] });

/** A container spec for the runners of `pool`. */
function containerSpec(
  pool: string,
  image: string,
  command: string,
  args: string[],
  exec: Partial<ContainerExec> = {},
  overrides: Partial<TaskSpec> = {},
): TaskSpec {
  const container: ContainerExec = { image, command, args, env: {}, workingDir: "", mounts: [], network: false };
  return subprocessSpec("unused", [], {
    exec: { $case: "container", value: { ...container, ...exec } },
    runnerSelector: selector(pool),
    ...overrides,
  });
}

const submit = async (spec: TaskSpec) => (await call(rpc(server.tasks, "submitTask"), submitRequest(spec))).task!;
const runsOf = async (id: string) =>
  (await call(rpc(server.tasks, "listTaskRuns"), { taskId: id, pageSize: 0, pageToken: "" })).runs;

/** What attempt 1 wrote on `stream` ("stdout" or "stderr"). */
async function outputOf(taskId: string, stream: "stdout" | "stderr" = "stdout"): Promise<string> {
  const events = await collect<StreamTaskOutputResponse>(
    server.tasks.streamTaskOutput({ taskId, attempt: 1, follow: false, sinceSeq: 0 }),
    () => false,
  );
  const code = stream === "stdout" ? 1 : 2;
  return events
    .map((e) => (e.event?.$case === "chunk" && e.event.value.stream === code ? e.event.value.data.toString() : ""))
    .join("");
}

/** Processes of this machine whose command line holds `marker` (a sleep's unique argument). */
const processesWith = (marker: string) =>
  readdirSync("/proc").filter((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      return readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0").includes(marker);
    } catch {
      return false; // gone meanwhile
    }
  });

/** A sleep of 30-and-a-bit seconds whose argument no other process has. */
const uniqueSleep = () => `30.${randomInt(10 ** 8, 10 ** 9)}`;

/** Interface names in a /proc/net/dev listing. */
const interfacesIn = (listing: string) =>
  listing
    .split("\n")
    .slice(2)
    .map((line) => line.split(":")[0]!.trim())
    .filter(Boolean)
    .sort();

describe.skipIf(!hasBwrap)("the container kind over bubblewrap", () => {
  const pool = "bwrap";
  let image: { rootfs: string; tar: string };
  let imageDir: string;
  let runner: RunnerProcess;
  beforeAll(async () => {
    image = buildBusyboxImage(dir);
    imageDir = join(dir, "images");
    runner = await startRunner(server.address, "container-bwrap", {
      labels: { pool },
      capacity: 4,
      args: ["--container-runtime", "bwrap", "--image-dir", imageDir],
    });
    runners.push(runner);
  });

  it("the runner found bwrap by trying it, and advertises container", () => {
    expect(runner.output()).toContain("containers with bwrap");
    expect(runner.output()).toMatch(/kinds subprocess,wasm,container\b/);
  });

  it("runs the command inside the image: its output, exit code 0, SUCCEEDED", async () => {
    const script = "ls /; echo to-stderr >&2";
    const task = await waitForTask(
      server.tasks,
      (await submit(containerSpec(pool, image.rootfs, "sh", ["-c", script]))).id,
    );
    expect(task.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, exitCode: 0 });
    // Only the image and the fresh /proc, /dev, /tmp: none of the runner's own files.
    expect((await outputOf(task.id)).split("\n").filter(Boolean)).toEqual(["bin", "dev", "etc", "proc", "tmp"]);
    expect(await outputOf(task.id, "stderr")).toBe("to-stderr\n");
  });

  it("a failing exit code: FAILED, the code kept on the task and the run", async () => {
    const task = await waitForTask(
      server.tasks,
      (await submit(containerSpec(pool, image.rootfs, "sh", ["-c", "exit 7"]))).id,
    );
    expect(task.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_FAILED,
      exitCode: 7,
      reason: TaskReason.ATTEMPT_FAILED,
    });
    expect((await runsOf(task.id))[0]).toMatchObject({ phase: RunPhase.RUN_PHASE_FAILED, exitCode: 7 });
  });

  it("past its timeout the container is killed: TIMEOUT, and nothing of it is left", async () => {
    const marker = uniqueSleep();
    const spec = containerSpec(
      pool,
      image.rootfs,
      "sleep",
      [marker],
      {},
      { timeout: { seconds: 0, nanos: 500_000_000 } },
    );
    const task = await waitForTask(server.tasks, (await submit(spec)).id);
    expect(task.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_TIMEOUT, reason: TaskReason.ATTEMPT_TIMEOUT });
    expect((await runsOf(task.id))[0]!.phase).toBe(RunPhase.RUN_PHASE_TIMEOUT);
    await waitUntil(() => processesWith(marker).length === 0, "the sleep inside the container to be gone", 10_000);
  });

  it("cancel stops the container: CANCELED, and nothing of it is left", async () => {
    const marker = uniqueSleep();
    const task = await submit(containerSpec(pool, image.rootfs, "sh", ["-c", `echo started; exec sleep ${marker}`]));
    await waitUntil(() => processesWith(marker).length > 0, "the sleep inside the container to start");
    await call(rpc(server.tasks, "cancelTask"), { id: task.id, reason: "enough" });
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    expect((await runsOf(task.id))[0]!.phase).toBe(RunPhase.RUN_PHASE_CANCELED);
    expect(await outputOf(task.id)).toBe("started\n");
    await waitUntil(() => processesWith(marker).length === 0, "the sleep inside the container to be gone", 10_000);
  });

  it("env is exactly the spec's plus the attempt's; working_dir and a read-only mount are there", async () => {
    const shared = join(dir, "shared");
    mkdirSync(shared);
    writeFileSync(join(shared, "greeting"), "hello from the host\n");
    const exec = {
      env: { GREETING: "hi there" },
      workingDir: "/data",
      mounts: [{ source: shared, target: "/data", readOnly: true }],
    };
    const script = "pwd; cat greeting; touch /data/new 2>/dev/null && echo writable || echo read-only";
    const inside = await waitForTask(
      server.tasks,
      (await submit(containerSpec(pool, image.rootfs, "sh", ["-c", script], exec))).id,
    );
    expect(inside.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect((await outputOf(inside.id)).split("\n").filter(Boolean)).toEqual([
      "/data",
      "hello from the host",
      "read-only",
    ]);
    // `env` itself, not through a shell (busybox sh exports a PATH of its own when there is none).
    const task = await waitForTask(server.tasks, (await submit(containerSpec(pool, image.rootfs, "env", [], exec))).id);
    expect(task.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const lines = (await outputOf(task.id)).split("\n").filter(Boolean);
    const variables = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    // Nothing of the runner's environment (PATH, HOME) gets in; bwrap sets PWD to the working directory.
    expect(variables).toEqual({
      GREETING: "hi there",
      PWD: "/data",
      SUPERVISOR_TASK_ID: task.id,
      SUPERVISOR_RUN_ID: (await runsOf(task.id))[0]!.id,
      SUPERVISOR_ATTEMPT: "1",
    });
  });

  it("no network unless asked: loopback only; network: true gives the runner's interfaces", async () => {
    const isolated = await waitForTask(
      server.tasks,
      (await submit(containerSpec(pool, image.rootfs, "cat", ["/proc/net/dev"]))).id,
    );
    expect(isolated.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(interfacesIn(await outputOf(isolated.id))).toEqual(["lo"]);
    const shared = await waitForTask(
      server.tasks,
      (await submit(containerSpec(pool, image.rootfs, "cat", ["/proc/net/dev"], { network: true }))).id,
    );
    expect(interfacesIn(await outputOf(shared.id))).toEqual(interfacesIn(readFileSync("/proc/net/dev", "utf8")));
  });

  it("a .tar image is unpacked once into the image directory and reused", async () => {
    const first = await waitForTask(server.tasks, (await submit(containerSpec(pool, image.tar, "ls", ["/"]))).id);
    expect(first.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect((await outputOf(first.id)).split("\n").filter(Boolean)).toEqual(["bin", "dev", "etc", "proc", "tmp"]);
    const unpacked = readdirSync(imageDir);
    expect(unpacked).toHaveLength(1);
    writeFileSync(join(imageDir, unpacked[0]!, "etc", "marker"), "from the cache\n");
    const second = await waitForTask(
      server.tasks,
      (await submit(containerSpec(pool, image.tar, "cat", ["/etc/marker"]))).id,
    );
    expect(second.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(await outputOf(second.id)).toBe("from the cache\n");
    expect(readdirSync(imageDir)).toEqual(unpacked);
  });

  it("supervisor submit --container --mount --wait runs it and exits with its code", async () => {
    const shared = join(dir, "cli-shared");
    mkdirSync(shared);
    writeFileSync(join(shared, "note"), "mounted\n");
    const args = ["submit", "--addr", server.address, "--selector", `pool=${pool}`, "--container", image.rootfs];
    args.push("--mount", `${shared}:/mnt:ro`, "--wait", "--", "sh", "-c", "echo hi; cat /mnt/note; exit 3");
    const result = await runCli(args);
    expect(result.stdout).toBe("hi\nmounted\n");
    expect(result.code).toBe(3);
  });

  it("an image that is not there: FAILED with a message saying so", async () => {
    const task = await waitForTask(
      server.tasks,
      (await submit(containerSpec(pool, join(dir, "no-such-rootfs"), "sh", []))).id,
    );
    expect(task.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    expect((await runsOf(task.id))[0]!.error).toBe(`image "${join(dir, "no-such-rootfs")}" not found on this runner`);
  });
});

describe("a runner without a working container runtime", () => {
  it("does not advertise container, so a container task waits NO_MATCHING_RUNNER", async () => {
    const runner = await startRunner(server.address, "container-none", {
      labels: { pool: "none" },
      args: ["--container-runtime", "none"],
    });
    runners.push(runner);
    expect(runner.output()).toContain("no container kind: disabled by configuration (runtime none)");
    expect(runner.output()).toMatch(/kinds subprocess,wasm; no container kind/);
    const task = await submit(containerSpec("none", "/srv/rootfs", "true", []));
    const waiting = await waitForTask(server.tasks, task.id, (t) => t.status!.reason === TaskReason.NO_MATCHING_RUNNER);
    expect(waiting.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    // The same runner still takes a subprocess task: only the container kind is missing.
    const other = await waitForTask(
      server.tasks,
      (await submit(subprocessSpec("true", [], { runnerSelector: selector("none") }))).id,
    );
    expect(other.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    await call(rpc(server.tasks, "cancelTask"), { id: task.id, reason: "" });
  });

  it("a runtime that is named but whose trial run fails is not used", async () => {
    // podman is not installed on these machines (and where it is, its runs fail): the trial says why.
    const runner = await startRunner(server.address, "container-podman", {
      labels: { pool: "podman" },
      args: ["--container-runtime", "podman"],
    });
    runners.push(runner);
    expect(runner.output()).toMatch(/no container kind \(podman: /);
    expect(runner.output()).toMatch(/kinds subprocess,wasm; no container kind/);
  });
});

describe("supervisor submit: container flags", () => {
  const NOWHERE = { SUPERVISOR_ADDR: "127.0.0.1:1", NO_COLOR: "1" };
  it.each([
    [["--mount", "/a:/b"], "--mount applies to a container: give --container IMAGE"],
    [["--network"], "--network applies to a container: give --container IMAGE"],
    [["--container", "/srv/rootfs", "--mount", "/a"], "Expected source:target or source:target:ro"],
    [["--container", "/srv/rootfs", "--mount", "/a:/b:rx"], "Expected source:target or source:target:ro"],
  ])("%s is a usage mistake (exit 2) before any call", async (flags, message) => {
    const result = await runCli(["submit", ...flags, "--", "true"], { env: NOWHERE });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe("ContainerExec validation", () => {
  const valid: ContainerExec = {
    image: "/srv/rootfs",
    command: "sh",
    args: [],
    env: {},
    workingDir: "",
    mounts: [],
    network: false,
  };
  const mount = { source: "/srv/data", target: "/data", readOnly: true };
  it.each<[string, Partial<ContainerExec>, string]>([
    ["no image", { image: "" }, "spec.container.image"],
    ["no command", { command: "" }, "spec.container.command"],
    ["1025 arguments", { args: Array.from({ length: 1025 }, () => "x") }, "spec.container.args"],
    [
      "257 variables",
      { env: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, "x"])) },
      "spec.container.env",
    ],
    ["65 mounts", { mounts: Array.from({ length: 65 }, () => mount) }, "spec.container.mounts"],
    ["a relative mount source", { mounts: [{ ...mount, source: "data" }] }, "spec.container.mounts[0].source"],
    ["a mount without a target", { mounts: [{ ...mount, target: "" }] }, "spec.container.mounts[0].target"],
    ["a relative working_dir", { workingDir: "tmp" }, "spec.container.working_dir"],
  ])("%s: INVALID_ARGUMENT / INVALID_REQUEST naming the field", async (_, fields, field) => {
    const spec = subprocessSpec("unused", [], { exec: { $case: "container", value: { ...valid, ...fields } } });
    const error = await expectError(
      call(rpc(server.tasks, "submitTask"), submitRequest(spec)),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual([field]);
  });

  it("a valid container spec is accepted with its kind", async () => {
    const task = await submit(
      subprocessSpec("unused", [], {
        exec: { $case: "container", value: { ...valid, mounts: [mount], workingDir: "/data", network: true } },
        runnerSelector: selector("nobody"),
      }),
    );
    expect(task.spec!.exec).toEqual({
      $case: "container",
      value: { ...valid, mounts: [mount], workingDir: "/data", network: true },
    });
    await call(rpc(server.tasks, "cancelTask"), { id: task.id, reason: "" });
  });
});
