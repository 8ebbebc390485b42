import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { SupervisorClient, TaskPhase } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { REPO_ROOT, runCli, stopChild } from "./helpers/cli.js";
import { installPythonSdk, missingPython, type PythonSdk, pythonEnv } from "./helpers/sdk-programs.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const run = promisify(execFile);

/** Spawns a runner example and resolves once it says it is connected (the child stays running). */
function startRunnerProcess(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const connected = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes("runner connected as ")) resolve();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`runner exited ${code} before connecting:\n${output}`)));
  });
  return { child, connected, output: () => output };
}

const missing = missingPython();

// The SDKs speak gRPC to the server; the storage behind it does not change what they do: SQLite only.
describe.skipIf(missing.length > 0 || BACKEND !== "sqlite")(
  "Python and TypeScript runners and clients, crossed",
  () => {
    let server: TestServer;
    let sdk: PythonSdk;
    let client: SupervisorClient;
    beforeAll(async () => {
      server = await startTestServer();
      sdk = await installPythonSdk();
      client = new SupervisorClient({ address: server.address });
    });
    afterAll(async () => {
      client?.close();
      sdk?.remove();
      await server?.close();
    });

    it("a Python runner runs embedded tasks from the TypeScript CLI; a TypeScript runner runs the Python client's", async () => {
      const env = { ...pythonEnv(), SUPERVISOR_ADDR: server.address };
      const python = startRunnerProcess(sdk.python, ["-I", "sdk-python/examples/runner.py"], env);
      const typescript = startRunnerProcess(process.execPath, ["examples/dist/typescript/runner.js"], env);
      try {
        await Promise.all([python.connected, typescript.connected]);

        // The TypeScript CLI submits two embedded tasks; the Python runner (the only one with "greet") runs them.
        const ids: string[] = [];
        for (const name of ["cli", "again"]) {
          const submitted = await runCli([
            "submit",
            "--addr",
            server.address,
            "--json",
            "--embedded",
            "greet",
            "--payload",
            JSON.stringify({ name }),
          ]);
          expect(submitted.code, submitted.stderr).toBe(0);
          ids.push(JSON.parse(submitted.stdout).id);
        }
        for (const [i, id] of ids.entries()) {
          const done = await client.waitFor(id);
          expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
          const [attempt] = await client.listRuns(id);
          expect(attempt!.runnerName).toBe("python-runner");
          const name = ["cli", "again"][i];
          expect(attempt!.result).toEqual({ greeting: `hello ${name}`, lang: "python" });
          const logs = await runCli(["logs", "--addr", server.address, id]);
          expect(logs.stdout).toBe(`greeting ${name}\n`);
        }

        // The Python client submits an embedded task that only the TypeScript runner example handles.
        const { stdout } = await run(sdk.python, ["-I", "sdk-python/examples/client.py"], { cwd: REPO_ROOT, env });
        const lines = stdout.trim().split("\n");
        expect(lines[0]).toMatch(/^[0-9a-f-]{36} TASK_PHASE_SUCCEEDED$/);
        expect(lines[1]).toBe('result: {"height": 240, "width": 320}');
        expect(lines[2]).toBe("error: NOT_FOUND TASK_NOT_FOUND");
        const [attempt] = await client.listRuns(lines[0]!.split(" ")[0]!);
        expect(attempt!.runnerName).toBe("example-runner");
      } finally {
        // SIGTERM: both drain and exit 0.
        expect(await stopChild(python.child, "SIGTERM"), python.output()).toBe(0);
        expect(await stopChild(typescript.child, "SIGTERM")).toBe(0);
      }
    });
  },
);
