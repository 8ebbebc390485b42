import type { ChildProcess } from "node:child_process";
import { SupervisorClient } from "@supervisor/sdk";
import { onTestFinished } from "vitest";
import { startCli, stopChild } from "./cli.js";
import { freshDatabase, runSql } from "./postgres.js";
import { waitUntil } from "./wait.js";

const READY = /supervisor serving on (\S+)/;

/** One `supervisor serve` process of a cluster. */
export interface ClusterServer {
  child: ChildProcess;
  address: string;
  client: SupervisorClient;
  output(): string;
  /** Whether it said it leads (its log says so when it takes the lead). */
  leads(): boolean;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Cluster {
  /** The database they share (postgres://…). */
  db: string;
  servers: ClusterServer[];
  /** Starts one more server on the same database. */
  add(): Promise<ClusterServer>;
  /** The server that leads now (waits for one to say so). */
  leader(among?: readonly ClusterServer[]): Promise<ClusterServer>;
  /** A grpc target naming every server, `first` first: a runner on it moves to the next when its server goes. */
  target(first: number): string;
  /** Runs `sql` on the shared database. */
  sql(sql: string): Promise<Record<string, unknown>[]>;
}

/**
 * `n` real servers on one fresh PostgreSQL database, with short leases so failover tests take seconds;
 * every one is killed and the database dropped when the test is over.
 */
export async function startCluster(n: number, args: string[] = []): Promise<Cluster> {
  const database = await freshDatabase();
  onTestFinished(() => database.drop());
  const servers: ClusterServer[] = [];
  const add = async () => {
    const started = await startCli(
      [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        database.url,
        "--heartbeat-interval",
        "1s",
        "--lease-ttl",
        "4s",
        ...args,
      ],
      READY,
    );
    const address = started.match[1]!;
    const client = new SupervisorClient({ address });
    onTestFinished(async () => {
      client.close();
      await stopChild(started.child, "SIGKILL");
    });
    const server: ClusterServer = {
      child: started.child,
      address,
      client,
      output: started.output,
      leads: () => /this server leads/.test(started.output()),
      kill: (signal = "SIGKILL") => stopChild(started.child, signal),
    };
    servers.push(server);
    return server;
  };
  // One after another: each gets its own log, and the first one up leads.
  for (let i = 0; i < n; i++) await add();
  const alive = (server: ClusterServer) => server.child.exitCode === null && server.child.signalCode === null;
  return {
    db: database.url,
    servers,
    add,
    leader: (among = servers) =>
      waitUntil(() => among.find((server) => alive(server) && server.leads()), "a server to lead"),
    target: (first) => {
      const ordered = [...servers.slice(first), ...servers.slice(0, first)];
      return `ipv4:${ordered.map((server) => server.address).join(",")}`;
    },
    sql: (sql) => runSql(database.url, [sql]),
  };
}
