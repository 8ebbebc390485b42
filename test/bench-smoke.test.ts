import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it, onTestFinished } from "vitest";
import { describeOn } from "./helpers/backend.js";
import { REPO_ROOT } from "./helpers/cli.js";

const run = promisify(execFile);

interface Target {
  scenario: string;
  target: string;
  measured: string;
}

// The bench picks its own storage (`--backend`) whatever project runs it: once is enough.
describeOn("sqlite")("npm run bench -- --quick (a smoke test: the figures are not compared)", () => {
  it("runs every default scenario to its end and writes a result for each", { timeout: 900_000 }, async () => {
    const results = mkdtempSync(join(tmpdir(), "bench-smoke-"));
    onTestFinished(() => rmSync(results, { recursive: true, force: true }));
    // A failing scenario makes the bench exit 1, which rejects here with its output.
    await run(process.execPath, ["bench/run.mjs", "--quick"], {
      cwd: REPO_ROOT,
      env: { ...process.env, BENCH_RESULTS_DIR: results },
      maxBuffer: 64 * 1024 * 1024,
    });
    const summary = JSON.parse(readFileSync(join(results, "summary.json"), "utf8")) as { targets: Target[] };
    expect(summary.targets.filter((target) => target.target === "(scenario failed)")).toEqual([]);
    const scenarios = new Set(summary.targets.map((target) => target.scenario));
    expect([...scenarios]).toEqual(expect.arrayContaining(["submit", "sdk-submit", "batch", "e2e", "list", "watch"]));
    const files = readdirSync(results).filter((name) => name.endsWith(".json"));
    for (const scenario of scenarios) expect(files).toContain(`${scenario}.json`);
    // The throughput scenarios measured work done, not an empty pass.
    for (const scenario of ["submit", "sdk-submit", "batch", "e2e"]) {
      const rates = summary.targets
        .filter((target) => target.scenario === scenario && target.measured.endsWith("tasks/s"))
        .map((target) => Number(target.measured.replace(/[^0-9.]/g, "")));
      expect(rates.length, scenario).toBeGreaterThan(0);
      for (const rate of rates) expect(rate, scenario).toBeGreaterThan(0);
    }
  });
});
