import type { StorageBackend } from "../store/backend.js";
import { type ElectorOptions, LeaseElector } from "./elector.js";
import { type Leadership, soleLeadership } from "./leadership.js";

/**
 * The leadership for a backend: an election among the servers sharing its database, or, for a
 * database this server has alone (SQLite, PostgreSQL not shared), this server leading for good.
 */
export function startLeadership(backend: StorageBackend, options: ElectorOptions = {}): Leadership {
  const cluster = backend.cluster;
  if (!cluster) return soleLeadership(backend.serverId);
  return new LeaseElector(cluster.leases, backend.serverId, options);
}
