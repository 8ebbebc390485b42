import { defineConfig } from "vitest/config";

/** The backends the suite runs on: one vitest project each, the same test files (test/helpers/backend.ts). */
const BACKENDS = ["sqlite", "postgres"] as const;

// Integration tests start real servers and processes; give them room on a
// shared 2-core machine, but never assert on timings.
const shared = {
  include: ["test/**/*.test.ts"],
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: "forks" as const,
  // Servers the tests spawn (serve, dev) must not all bind the default metrics port 9464; tests that
  // scrape metrics ask for 127.0.0.1:0.
  env: { SUPERVISOR_METRICS_LISTEN: "off" },
};

export default defineConfig({
  test: {
    // One real PostgreSQL for the whole run, both projects (scripts/postgres-cluster.mjs); tests get
    // databases from test/helpers/postgres.ts. Set on the root only: a project's own globalSetup would
    // start a cluster of its own, and what the root provides reaches every project.
    globalSetup: ["test/setup/postgres.ts"],
    projects: BACKENDS.map((backend) => ({
      test: { ...shared, name: backend, provide: { backend } },
    })),
  },
});
