import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, stopChild } from "./helpers/cli.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";

const run = promisify(execFile);

/**
 * The CLI as a user installs it: the sdk and cli packages packed by npm and
 * installed from the tarballs into an empty project (their dependencies come
 * from the registry), with no server package and so no native SQLite driver.
 */
let dir: string;
let bin: string;
let server: TestServer;
beforeAll(async () => {
  dir = tempDir("supervisor-pack-cli-");
  await run("npm", ["pack", "--workspace", "sdk", "--workspace", "cli", "--pack-destination", dir], {
    cwd: REPO_ROOT,
  });
  const tarballs = readdirSync(dir).filter((name) => name.endsWith(".tgz"));
  expect(tarballs.sort()).toEqual(["supervisor-cli-0.1.0.tgz", "supervisor-sdk-0.1.0.tgz"]);
  const project = join(dir, "project");
  await run("mkdir", [project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "cli-user", private: true }));
  await run("npm", ["install", "--no-audit", "--no-fund", ...tarballs.map((name) => join(dir, name))], {
    cwd: project,
  });
  bin = join(project, "node_modules/.bin/supervisor");
  server = await startTestServer();
}, 300_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const supervisor = (...args: string[]) =>
  run(bin, args, { env: { ...process.env, SUPERVISOR_ADDR: server.address, NO_COLOR: "1" } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe("the cli package installed from its tarball", () => {
  it("installs without the server package or better-sqlite3", () => {
    const modules = join(dir, "project/node_modules");
    expect(existsSync(join(modules, "@supervisor/cli"))).toBe(true);
    expect(existsSync(join(modules, "@supervisor/server"))).toBe(false);
    expect(existsSync(join(modules, "better-sqlite3"))).toBe(false);
  });

  it("prints its help and the runner's", async () => {
    const help = await supervisor("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/submit \[options\]/);
    expect(help.stdout).toMatch(/\(needs\s+@supervisor\/server\)/);
    const runnerHelp = await supervisor("runner", "--help");
    expect(runnerHelp.code).toBe(0);
    expect(runnerHelp.stdout).toContain("--capacity <n>");
  });

  it("serve says in one line which package to install, and exits 2", async () => {
    const serve = await supervisor("serve");
    expect(serve.code).toBe(2);
    expect(serve.stderr).toBe(
      "supervisor: `supervisor serve` needs the server package: npm install @supervisor/server\n",
    );
  });

  it("runs a runner and client commands against a real server", async () => {
    const runner: ChildProcess = spawn(bin, ["runner", "--addr", server.address, "--name", "packed"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        runner.stdout!.on("data", (chunk) => String(chunk).includes("connected to") && resolve());
        runner.on("exit", (code) => reject(new Error(`the runner exited with ${code}`)));
      });
      const hello = await supervisor("submit", "--wait", "--", "echo", "hello");
      expect(hello).toMatchObject({ code: 0, stdout: "hello\n" });
      const listed = await supervisor("list", "--json");
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain('"command":"echo"');
    } finally {
      await stopChild(runner);
    }
  });
});
