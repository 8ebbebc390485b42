import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeOn } from "./helpers/backend.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { buildGo, goAvailable, installPythonSdk, missingPython, pythonEnv } from "./helpers/sdk-programs.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const run = promisify(execFile);
const README = readFileSync(`${REPO_ROOT}/README.md`, "utf8");

/** The first ```lang block of the README section `## title`. */
function example(title: string, lang: string): string {
  const section = README.slice(README.indexOf(`## ${title}\n`));
  const block = section.match(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``));
  if (!block) throw new Error(`README: no ${lang} block under "## ${title}"`);
  return block[1]!;
}

// The SDKs speak gRPC to the server; the storage behind it does not change what they do: SQLite only.
describeOn("sqlite")("the README's SDK examples run as written", () => {
  let server: TestServer;
  let runner: RunnerProcess;
  beforeAll(async () => {
    server = await startTestServer();
    runner = await startRunner(server.address, "readme-runner"); // runs the Go example's subprocess task
  });
  afterAll(async () => {
    await runner?.stop();
    await server?.close();
  });

  it.skipIf(missingPython().length > 0)("Python SDK: a runner with a handler, a submit, wait_for, list", async () => {
    const sdk = await installPythonSdk();
    try {
      const source = example("Python SDK", "python").replaceAll("127.0.0.1:50051", server.address);
      const { stdout } = await run(sdk.python, ["-I", "-c", source], { cwd: REPO_ROOT, env: pythonEnv() });
      expect(stdout).toBe("TASK_PHASE_SUCCEEDED\nTrue\n");
    } finally {
      sdk.remove();
    }
  });

  it.skipIf(!goAvailable())(
    "Go SDK: dial, submit, wait",
    async () => {
      const body = example("Go SDK", "go").replaceAll("127.0.0.1:50051", server.address);
      const main = `package main

  import (
  	"context"
  	"fmt"
  	"log"

  	v1 "github.com/supervisor/supervisor/sdk-go/gen/supervisor/v1"
  	"github.com/supervisor/supervisor/sdk-go/supervisor"
  )

  func main() {
  	ctx := context.Background()
  ${body}}
  `;
      const program = await buildGo("readme", main);
      try {
        const { stdout } = await run(program.binary, []);
        expect(stdout).toBe("TASK_PHASE_SUCCEEDED <nil>\n");
      } finally {
        program.remove();
      }
    },
    240_000,
  );
});
