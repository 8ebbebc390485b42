import { execFile, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import type { ListTasksRequest, ListTasksResponse } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { startTestServer, tempDir } from "./helpers/server.js";

const run = promisify(execFile);

const PYTHON = "/usr/bin/python3";
const PROTOC = "/usr/bin/protoc";

/** Debian packages the Python example needs that are not usable here (empty = run the test). */
function missingPythonToolchain(): string[] {
  const missing: string[] = [];
  if (!existsSync(PROTOC)) missing.push("protobuf-compiler", "libprotobuf-dev");
  if (spawnSync("bash", ["-c", "command -v grpc_python_plugin"]).status !== 0) missing.push("protobuf-compiler-grpc");
  const python = spawnSync(PYTHON, ["-I", "-c", "import grpc, google.protobuf"], { env: pythonEnv() });
  if (python.error || python.status !== 0) missing.push("python3", "python3-grpcio", "python3-protobuf");
  return missing;
}

/** Debian's python3 with no user PYTHONPATH/PYTHONHOME that could shadow its grpc. */
function pythonEnv(): NodeJS.ProcessEnv {
  const { PYTHONPATH: _path, PYTHONHOME: _home, ...env } = process.env;
  return env;
}

const missing = missingPythonToolchain();
if (missing.length > 0) {
  console.warn(
    `python-client.test.ts: SKIPPED: the Python client example needs the Debian packages ${missing.join(", ")} ` +
      `(${PROTOC} and \`${PYTHON} -I -c "import grpc"\` must work); install them with \`bash scripts/polyglot-check.sh\`.`,
  );
}

describe("examples/python", () => {
  it.skipIf(missing.length > 0)(
    "client.py submits, pages, watches and decodes error details against a real server",
    async () => {
      const server = await startTestServer();
      const genDir = tempDir("supervisor-pygen-");
      try {
        await run("bash", ["examples/python/gen.sh", genDir], { cwd: REPO_ROOT });
        const { stdout } = await run(
          PYTHON,
          ["-I", "examples/python/client.py", "--addr", server.address, "--gen-dir", genDir, "--watch-timeout", "10"],
          { cwd: REPO_ROOT, env: pythonEnv(), timeout: 45_000 },
        );
        const lines = stdout.trim().split("\n");
        const index = (prefix: string) => lines.findIndex((line) => line.startsWith(prefix));

        // 4 tasks submitted: 3 before the list, the 4th after the watch started.
        const submitted = lines.filter((l) => l.startsWith("submitted ")).map((l) => l.slice("submitted ".length));
        expect(submitted).toHaveLength(4);
        for (const id of submitted)
          expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(new Set(submitted).size).toBe(4);

        // Listed 3 before the watch, paged as 2 + 1, newest first.
        const listedAt = index("listed ");
        const watchingAt = index("watching from revision ");
        expect(lines[listedAt]).toMatch(/^listed 3 tasks \(revision \d+\)$/);
        expect(lines.filter((l) => l.startsWith("page "))).toEqual(["page 1: 2 tasks", "page 2: 1 tasks"]);
        const listed = lines
          .slice(0, listedAt)
          .filter((l) => l.startsWith("task "))
          .map((l) => l.split(" ")[1]);
        expect(listed).toEqual(submitted.slice(0, 3).reverse());
        expect(listedAt).toBeLessThan(watchingAt);
        expect(lines.indexOf(`submitted ${submitted[3]}`)).toBeGreaterThan(watchingAt);

        // The watch delivered the 4th task's ADDED event.
        const addedAt = lines.findIndex((l) => l.startsWith(`watch event ADDED ${submitted[3]} `));
        expect(addedAt).toBeGreaterThan(watchingAt);

        // Error details decoded from grpc-status-details-bin.
        expect(lines).toContain("error reason TASK_NOT_FOUND (domain supervisor.v1)");
        expect(lines[index("error code ")]).toMatch(/^error code NOT_FOUND/);
        expect(lines.at(-1)).toBe("done");

        // The TypeScript client sees the same 4 tasks with the label.
        const page = await call<ListTasksRequest, ListTasksResponse>(rpc(server.tasks, "listTasks"), {
          pageSize: 100,
          pageToken: "",
          filter: { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "example=python" },
        });
        expect(page.tasks.map((t) => t.id).sort()).toEqual([...submitted].sort());
        for (const task of page.tasks) {
          expect(task.spec!.labels).toEqual({ example: "python" });
          expect(task.requestId).toMatch(/^example-python-[0-9a-f]{12}-[1-4]$/);
        }
        const byId = new Map(page.tasks.map((t) => [t.id, t]));
        submitted.forEach((id, i) => {
          expect(byId.get(id)!.spec!.exec).toEqual({
            $case: "subprocess",
            value: expect.objectContaining({ command: "echo", args: [`hello-${i + 1}`] }),
          });
        });
      } finally {
        rmSync(genDir, { recursive: true, force: true });
        await server.close();
      }
    },
  );
});
