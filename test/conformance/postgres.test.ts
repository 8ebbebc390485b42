import { systemClock } from "../../server/src/core/clock.js";
import { PostgresBackend } from "../../server/src/store/postgres/backend.js";
import { freshDatabase } from "../helpers/postgres.js";
import { describeBackend } from "./backend-conformance.js";

describeBackend("postgres", async () => {
  const database = await freshDatabase();
  const backend = await PostgresBackend.open(database.url, systemClock);
  return {
    backend,
    async close() {
      await backend.close();
      await database.drop();
    },
  };
});
