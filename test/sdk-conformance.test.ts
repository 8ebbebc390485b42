import { afterAll, beforeAll, expect, it } from "vitest";
import { describeOn } from "./helpers/backend.js";
import {
  buildGo,
  DEBIAN_PYTHON,
  goAvailable,
  installPythonSdk,
  missingPython,
  type PythonSdk,
  runScenario,
  type ScenarioRun,
} from "./helpers/sdk-programs.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** The lines every SDK prints for the scenario (docs/sdk-conformance.md), checked the same way for each. */
function expectScenario(result: ScenarioRun, lang: string): void {
  expect(result.code, `exit code; stderr:\n${result.stderr}`).toBe(0);
  const lines = result.lines;
  const ids = lines.filter((l) => l.startsWith("submitted ")).map((l) => l.slice("submitted ".length));
  expect(ids).toHaveLength(3);
  for (const id of ids) expect(id).toMatch(new RegExp(`^${UUID}$`));
  expect(new Set(ids).size).toBe(3);
  expect(lines).toContain(`idempotent ${ids[0]}`);
  expect(lines.filter((l) => l.startsWith("page "))).toEqual(["page 1: 2", "page 2: 1"]);
  expect(lines).toContain(`listed ${[...ids].reverse().join(" ")}`);

  // The watch: the 4th task's ADDED before the drop, the 5th's after it, and nothing repeated.
  const dropAt = lines.indexOf("drop-now");
  expect(dropAt).toBeGreaterThan(0);
  expect(result.cut).toBeGreaterThan(0); // the watch stream really went through the proxy and was cut
  const added = (from: number, to: number) => lines.slice(from, to).filter((l) => l.startsWith("event ADDED "));
  const before = added(0, dropAt);
  const after = added(dropAt + 1, lines.length);
  expect(before).toHaveLength(1);
  expect(after).toHaveLength(1);
  expect(before[0]).not.toBe(after[0]);
  for (const line of [...before, ...after]) expect(line).toMatch(new RegExp(`^event ADDED ${UUID}$`));

  expect(lines.filter((l) => l.startsWith("canceled "))).toEqual([
    `canceled ${ids[0]} TASK_PHASE_CANCELED`,
    `canceled ${ids[0]} TASK_PHASE_CANCELED`,
  ]);
  expect(lines).toContain("invalid INVALID_ARGUMENT INVALID_REQUEST spec.subprocess.command");
  expect(lines).toContain("not-found NOT_FOUND TASK_NOT_FOUND");
  expect(lines).toContain(`runner TASK_PHASE_SUCCEEDED {"echo":"conformance","lang":"${lang}"}`);
  expect(lines).toContain("output hello conformance");
  expect(lines.at(-1)).toBe("done");
}

const missing = missingPython();
const hasGo = goAvailable();

// The SDKs speak gRPC to the server; the storage behind it does not change what they do: SQLite only.
describeOn("sqlite")("SDK conformance scenario (docs/sdk-conformance.md)", () => {
  let server: TestServer;
  let proxy: TcpProxy;
  let python: PythonSdk | undefined;
  let goProgram: { binary: string; remove(): void } | undefined;
  beforeAll(async () => {
    server = await startTestServer();
    proxy = await startTcpProxy(server.address);
    // pip install ./sdk-python into a venv, and an offline go build of sdk-go/cmd/scenario.
    [python, goProgram] = await Promise.all([
      missing.length > 0 ? undefined : installPythonSdk(),
      hasGo ? buildGo("cmd/scenario") : undefined,
    ]);
  }, 240_000);
  afterAll(async () => {
    python?.remove();
    goProgram?.remove();
    await proxy?.close();
    await server?.close();
  });

  it("TypeScript: submit, page, watch across a dropped connection, cancel, errors, a runner", async () => {
    const result = await runScenario(process.execPath, ["examples/dist/typescript/sdk-scenario.js"], proxy);
    expectScenario(result, "ts");
  });

  it.skipIf(missing.length > 0)(
    `Python: submit, page, watch across a dropped connection, cancel, errors, a runner${
      missing.length > 0 ? ` (skipped: ${DEBIAN_PYTHON} lacks ${missing.join(", ")})` : ""
    }`,
    async () => {
      const result = await runScenario(python!.python, ["-I", "sdk-python/conformance/scenario.py"], proxy);
      expectScenario(result, "python");
    },
  );

  it.skipIf(!hasGo)("Go: submit, page, watch across a dropped connection, cancel, errors, a runner", async () => {
    const result = await runScenario(goProgram!.binary, [], proxy);
    expectScenario(result, "go");
  });
});
