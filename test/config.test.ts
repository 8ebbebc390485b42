import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ConfigError, loadConfig } from "../server/src/config.js";
import { runCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/server.js";

/** A path for a config file, in a temp dir removed when the test is over. */
function configFile(): string {
  const dir = tempDir();
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "config.json");
}

describe("configuration", () => {
  it("has the documented defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      listen: "127.0.0.1:50051",
      synchronous: "FULL",
      heartbeatIntervalMs: 5_000,
      leaseTtlMs: 15_000,
      retentionMs: 7 * 86_400_000,
      idempotencyTtlMs: 86_400_000,
      slotQueueLimit: 1000,
      outputCapBytes: 1 << 20,
      journalMinRevisions: 100_000,
    });
  });

  it("layers file, then SUPERVISOR_* env, then flags", () => {
    const file = configFile();
    writeFileSync(file, JSON.stringify({ listen: "127.0.0.1:1", leaseTtl: "20s", slotQueueLimit: 7 }));
    const config = loadConfig({
      file,
      env: { SUPERVISOR_LEASE_TTL: "30s", SUPERVISOR_SLOT_QUEUE_LIMIT: "8" },
      flags: { slotQueueLimit: "9" },
    });
    expect(config.listen).toBe("127.0.0.1:1");
    expect(config.leaseTtlMs).toBe(30_000);
    expect(config.slotQueueLimit).toBe(9);
  });

  it("names the source of every bad value", () => {
    const file = configFile();
    writeFileSync(file, JSON.stringify({ synchronous: "OFF", bogus: 1 }));
    let message = "";
    try {
      loadConfig({ file, env: { SUPERVISOR_RETENTION: "forever" } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain("SUPERVISOR_RETENTION: expected a duration");
    expect(message).toContain(`${file}: "synchronous"`);
    expect(message).toContain("unknown setting(s) bogus");
  });

  it("makes `supervisor serve` exit 2 with a readable message on bad config", async () => {
    const result = await runCli(["serve", "--listen", "127.0.0.1:0", "--lease-ttl", "soon", "--synchronous", "MAYBE"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("supervisor: invalid configuration:");
    expect(result.stderr).toContain(
      '--lease-ttl: expected a duration such as 500ms, 15s, 1.5m, 1h30m, 24h or 7d; got "soon"',
    );
    expect(result.stderr).toContain("--synchronous:");
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user mistake
  });

  it("refuses settings that contradict each other: a lease TTL under two heartbeat intervals", async () => {
    const result = await runCli([
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--lease-ttl",
      "4s",
      "--heartbeat-interval",
      "5s",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "--lease-ttl: 4s is shorter than twice the heartbeat interval (5s): one late heartbeat would lose a runner",
    );
    expect(() => loadConfig({ flags: { leaseTtl: "10s", heartbeatInterval: "5s" } })).not.toThrow();
  });

  it("exits 2 when the config file is missing", async () => {
    const result = await runCli(["serve", "--config", "/nonexistent/supervisor.json"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("cannot read config file /nonexistent/supervisor.json");
  });
});
