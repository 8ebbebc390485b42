import { hostname } from "node:os";
import type { Timer, Timers } from "@supervisor/sdk";
import type { Logger } from "../../errors.js";
import type { ServerRecord } from "../backend.js";
import { guarded } from "./errors.js";
import { deleteServer, heartbeat, listServers } from "./queries/servers.js";
import type { Queryable } from "./statement.js";

/**
 * This server's row in the servers table, heartbeating every `intervalMs` while the backend is
 * open (one small statement on the pool, outside the write transactions: it moves no revision),
 * deleted on a clean close. The leader reads every row to tell which servers went silent.
 */
export class ServerRegistry {
  private address = "";
  private timer: Timer | undefined;
  private beating: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly db: Queryable,
    readonly id: string,
    private readonly intervalMs: number,
    private readonly timers: Timers,
    private readonly log: Logger,
  ) {}

  /** Writes the row (so a runner this server takes is never held by a server with none) and starts beating. */
  async start(): Promise<void> {
    await guarded(() => this.write());
    this.timer = this.timers.every(this.intervalMs, () => this.beat());
  }

  async announce(address: string): Promise<void> {
    this.address = address;
    await guarded(() => this.write());
  }

  async list(): Promise<ServerRecord[]> {
    return (await guarded(() => listServers(this.db))).map((row) => ({
      id: row.id,
      address: row.address,
      host: row.host,
      pid: row.pid,
      startedAtMs: row.started_at_ms,
      heartbeatAtMs: row.heartbeat_at_ms,
      silentMs: row.silent_ms,
    }));
  }

  async forget(id: string): Promise<void> {
    await guarded(() => deleteServer(this.db, id));
  }

  /** Stops beating and deletes the row: the others see this server gone at once, not after a timeout. */
  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.beating;
    await deleteServer(this.db, this.id).catch((error) => this.log("could not remove this server's row", error));
  }

  private beat(): void {
    // One at a time: a slow database gets no pile of heartbeats, the next tick tries again.
    if (this.beating) return;
    this.beating = this.write().then(
      () => {
        if (this.failing) this.log("the server heartbeat is written again");
        this.failing = false;
      },
      (error) => {
        if (!this.failing) this.log("the server heartbeat could not be written (retrying)", error);
        this.failing = true;
      },
    );
    void this.beating.finally(() => {
      this.beating = undefined;
    });
  }

  private write(): Promise<unknown> {
    return heartbeat(this.db, this.id, this.address, hostname(), process.pid);
  }
}
