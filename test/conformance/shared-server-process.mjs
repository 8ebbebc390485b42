// A server sharing a PostgreSQL database, in a process of its own, so a test can SIGKILL it: its
// leader lease is then never resigned and its heartbeat row never removed, as when a real server
// dies. Built code (server/dist): the suite runs after `npx tsc -b`.
// Usage: node shared-server-process.mjs <database url> <server id> <lease ttl ms>
// Prints "open", then "leading <epoch>" / "following" as its leadership changes.
import { LeaseElector } from "../../server/dist/cluster/elector.js";
import { PostgresBackend } from "../../server/dist/store/postgres/backend.js";

const [url, serverId, ttlMs] = process.argv.slice(2);
const backend = await PostgresBackend.open(
  url,
  { now: () => Date.now() },
  { shared: true, serverId, heartbeatMs: 100 },
);
const elector = new LeaseElector(backend.cluster.leases, serverId, { ttlMs: Number(ttlMs) });
elector.onChange((leading) => console.log(leading ? `leading ${elector.epoch()}` : "following"));
console.log("open");
// The backend's connections keep the process alive until it is killed.
