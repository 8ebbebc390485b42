import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeOn } from "./helpers/backend.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";

const run = promisify(execFile);

/** Every ```ts block of a Markdown file, in order, as one module. */
const typescriptBlocks = (path: string) =>
  [...readFileSync(path, "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");
const SDK_DIR = join(REPO_ROOT, "sdk");
const TSC = join(REPO_ROOT, "node_modules/.bin/tsc");
const say = (line: string) => console.log(`pack-sdk: ${line}`);

/**
 * npm as a user runs it: without the npm_* variables of `npm test` (they would
 * point the nested npm at this workspace) and with an empty user config. The
 * npm cache is shared, so dependencies already fetched are not fetched again.
 */
const npmEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))),
  NPM_CONFIG_USERCONFIG: "/dev/null",
};
const npm = (args: string[], cwd: string, timeout: number) =>
  run("npm", args, { cwd, env: npmEnv, timeout, maxBuffer: 16 * 1024 * 1024 });

/** A user's program: a Runner with an embedded handler, and a client that submits, waits, lists and watches. */
const PROGRAM = `
import { EventType, Runner, SupervisorClient, SupervisorError, embedded, formatRunnerSelector, taskPhaseToJSON,
  type Task } from "@supervisor/sdk";
import { ErrorInfo } from "@supervisor/sdk/gen/google/rpc/error_details";

const address = process.env.SUPERVISOR_ADDR ?? "127.0.0.1:50051";
// Its log goes to stderr: shown if the program fails.
const runner = new Runner({ address, name: "packed-runner", labels: { pack: "yes" }, log: (line) => console.error(line) });
runner.handle("add", (payload) => ({ sum: Number(payload.a) + Number(payload.b) }));
await runner.start();

const client = new SupervisorClient({ address });
const { revision } = await client.listPage({ pageSize: 1 });
const spec = embedded("add", { a: 2, b: 3 }, { labels: { pack: "yes" }, runnerSelector: { matchLabels: { pack: "yes" } } });
const task = await client.submit(spec);

const events: string[] = [];
const controller = new AbortController();
for await (const event of client.watch({ filter: { labelSelector: "pack=yes" }, sinceRevision: revision, signal: controller.signal })) {
  if (event.type === EventType.EVENT_TYPE_BOOKMARK || event.task?.id !== task.id) continue;
  events.push(taskPhaseToJSON(event.task.status!.phase));
  if (event.task.status!.finishTime) controller.abort();
}
const done: Task = await client.waitFor(task.id);
const [taskRun] = await client.listRuns(task.id);
const listed: string[] = [];
for await (const t of client.list({ filter: { labelSelector: "pack=yes" }, pageSize: 10 })) listed.push(t.id);
const missing = await client.get("0190c5e2-7b1d-7c3a-8f00-0123456789ab").catch((e: SupervisorError) => e.reason);

console.log(JSON.stringify({
  phase: taskPhaseToJSON(done.status!.phase),
  result: taskRun?.result,
  listed: listed.length === 1 && listed[0] === task.id,
  events,
  selector: formatRunnerSelector(task.spec!.runnerSelector!),
  missing,
  errorInfo: ErrorInfo.fromPartial({ reason: "SUBPATH" }).reason,
}));
client.close();
await runner.stop();
`;

// On one project only: the package is the same whichever backend the test server has, and two packs at once
// (one per project) would build the same sdk/dist at the same time.
describeOn("sqlite")("the SDK as an npm package", () => {
  let server: TestServer;
  let work: string;
  beforeAll(async () => {
    server = await startTestServer();
    work = tempDir("supervisor-pack-sdk-");
  });
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("npm pack makes a tarball that installs in an empty project, compiles strict and talks to a server", async () => {
    const project = join(work, "consumer");
    mkdirSync(join(project, "src"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));

    // The README's two commands, as written: `npm pack -w sdk` here, `npm install ./<tarball>` in the project.
    say(`npm pack -w sdk (its prepack builds dist) → ${project}`);
    const packed = await npm(["pack", "-w", "sdk", "--json", "--pack-destination", project], REPO_ROOT, 120_000);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    say(`${info!.filename}: ${files.length} files`);
    expect(files).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/gen/google/rpc/error_details.js",
        "dist/gen/google/rpc/error_details.d.ts",
        "dist/gen/supervisor/v1/task.js",
      ]),
    );
    expect(files.filter((f) => /\.tsbuildinfo$|\.test\.|(^|\/)test\//.test(f))).toEqual([]);
    // Every built module comes from a source that still exists: no stale output from a removed file ships.
    const sources = new Set(files.filter((f) => f.startsWith("src/")));
    const stale = files.filter(
      (f) => /^dist\/.*\.js$/.test(f) && !sources.has(f.replace(/^dist\/(.*)\.js$/, "src/$1.ts")),
    );
    expect(stale).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(SDK_DIR, "package.json"), "utf8"));
    const dependencies = Object.keys(manifest.dependencies ?? {});
    expect(dependencies.filter((name) => name.startsWith("@supervisor/"))).toEqual([]); // nothing only the monorepo has
    expect(manifest.engines.node).toMatch(/^>=20/);

    expect(info!.filename).toBe("supervisor-sdk-0.1.0.tgz"); // the name the README installs
    say(`npm install ./${info!.filename} @types/node@20 in the empty project`);
    const install = ["install", "--no-audit", "--no-fund", "--prefer-offline", `./${info!.filename}`, "@types/node@20"];
    await npm(install, project, 180_000);
    const installed = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    expect(installed.dependencies["@supervisor/sdk"]).toBe("file:supervisor-sdk-0.1.0.tgz");

    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          rootDir: "src",
          outDir: "dist",
          types: ["node"],
          skipLibCheck: false, // the SDK's own .d.ts files must check too
          noEmitOnError: true,
        },
        include: ["src"],
      }),
    );
    writeFileSync(join(project, "src/main.ts"), PROGRAM);
    // The TypeScript in the READMEs compiles against the package as published (type-checked, not run).
    writeFileSync(join(project, "src/readme.ts"), typescriptBlocks(join(REPO_ROOT, "README.md")));
    writeFileSync(join(project, "src/sdk-readme.ts"), typescriptBlocks(join(SDK_DIR, "README.md")));
    say("tsc (the repository's binary) with the project's strict NodeNext tsconfig: the program and the READMEs");
    await run(TSC, ["-p", join(project, "tsconfig.json")], { cwd: project, timeout: 120_000 }).catch(
      (error: { stdout?: string }) => {
        throw new Error(`the program does not compile against the packed SDK:\n${error.stdout}`);
      },
    );

    say(`node dist/main.js against the test server at ${server.address}`);
    const { stdout } = await run(process.execPath, [join(project, "dist/main.js")], {
      cwd: project,
      env: { ...process.env, SUPERVISOR_ADDR: server.address },
      timeout: 60_000,
    }).catch((error: { stdout?: string; stderr?: string; signal?: string }) => {
      // What it printed says where it stopped (a 60 s kill is SIGTERM).
      throw new Error(
        `the packed program failed (${error.signal ?? "exit"}):\nstdout: ${error.stdout}\nstderr: ${error.stderr}`,
      );
    });
    say(stdout.trim());
    const report = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(report).toMatchObject({
      phase: "TASK_PHASE_SUCCEEDED",
      result: { sum: 5 },
      listed: true,
      selector: "pack=yes",
      missing: "TASK_NOT_FOUND",
      errorInfo: "SUBPATH",
    });
    expect(report.events.at(-1)).toBe("TASK_PHASE_SUCCEEDED");
    // The packed SDK is resolved from the project, not from this repository.
    const resolved = await run(process.execPath, ["-p", 'require.resolve("@supervisor/sdk/package.json")'], {
      cwd: project,
    });
    expect(resolved.stdout.trim()).toBe(join(project, "node_modules/@supervisor/sdk/package.json"));
  }, 420_000);
});
