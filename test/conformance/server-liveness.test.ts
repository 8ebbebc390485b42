import { hostname } from "node:os";
import { expect, it } from "vitest";
import { describeOn } from "../helpers/backend.js";
import { waitUntil } from "../helpers/wait.js";
import { sharedDatabase, startServerProcess } from "./shared-servers.js";

// PostgreSQL only: the servers table is kept by servers sharing a database (a SQLite file has one server).
describeOn("postgres")("servers sharing a database: their rows and heartbeats", () => {
  it("each server has a row from its open, heartbeating, with the address it announces; a clean close removes it", async () => {
    const db = await sharedDatabase();
    const a = await db.open({ serverId: "server-a", heartbeatMs: 50 });
    const b = await db.open({ serverId: "server-b", heartbeatMs: 50 });
    await a.cluster!.announce("10.0.0.1:4000");
    const rows = await a.cluster!.listServers();
    expect(rows.map(({ id, address, host, pid }) => ({ id, address, host, pid }))).toEqual([
      { id: "server-a", address: "10.0.0.1:4000", host: hostname(), pid: process.pid },
      { id: "server-b", address: "", host: hostname(), pid: process.pid },
    ]);
    // The heartbeat moves on (the database's clock): a later read sees a later heartbeat of each.
    const beats = new Map(rows.map((row) => [row.id, row.heartbeatAtMs]));
    await waitUntil(async () => {
      const later = await b.cluster!.listServers();
      return later.every((row) => row.heartbeatAtMs > beats.get(row.id)! && row.startedAtMs <= row.heartbeatAtMs);
    }, "both heartbeats to move on");
    await a.close();
    expect((await b.cluster!.listServers()).map((row) => row.id)).toEqual(["server-b"]);
  });

  it("a killed server's row stays, going silent by the database's clock, until the leader forgets it", async () => {
    const db = await sharedDatabase();
    const alive = await db.open({ serverId: "server-alive", heartbeatMs: 50 });
    const dying = startServerProcess(db, "server-dying", 60_000);
    await dying.line(/open/);
    expect((await alive.cluster!.listServers()).map((row) => row.id).sort()).toEqual(["server-alive", "server-dying"]);
    await dying.kill();
    const silence = (rows: { id: string; silentMs: number }[], id: string) =>
      rows.find((row) => row.id === id)!.silentMs;
    // Silent for many heartbeats while the live one keeps beating: what the leader tells dead servers by.
    const rows = await waitUntil(async () => {
      const now = await alive.cluster!.listServers();
      return silence(now, "server-dying") > 1_000 ? now : undefined;
    }, "the killed server to go silent");
    expect(silence(rows, "server-alive")).toBeLessThan(silence(rows, "server-dying"));
    await alive.cluster!.forgetServer("server-dying");
    expect((await alive.cluster!.listServers()).map((row) => row.id)).toEqual(["server-alive"]);
  });
});
