import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real servers and processes; give them room on a
    // shared 2-core machine, but never assert on timings.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One real PostgreSQL for the run (scripts/postgres-cluster.mjs); tests get databases from test/helpers/postgres.ts.
    globalSetup: ["test/setup/postgres.ts"],
  },
});
