// Supervisor: the root repo's built server in a child process (bench/serve.mjs via startSupervisor: a
// fresh SQLite file, durable defaults — WAL, synchronous=FULL, group commit) and the SDK on both sides.
import { embedded, Runner, SupervisorClient, TaskPhase } from "@supervisor/sdk";
import { startSupervisor } from "../../lib/procs.mjs";

export const id = "supervisor";
export const label = "Supervisor";
export const short = "Supervisor";
export const latencyVariants = [{ key: "default", label: "push (runner stream)", pollMs: 0 }];

const UNFINISHED = [TaskPhase.TASK_PHASE_PENDING, TaskPhase.TASK_PHASE_RUNNING];
const quiet = () => {};

/** A fresh server (its own temp dir and database) and a client on its own connection. */
export async function open() {
  const server = await startSupervisor();
  // grpc-js shares a connection between equal channel options: keep the enqueuer's apart from a runner's.
  const client = new SupervisorClient({ address: server.address, channelOptions: { "bench.connection": "enqueuer" } });
  return {
    settings: { server: "durable defaults: SQLite WAL, synchronous=FULL, group commit" },
    enqueueOne: async (data) => (await client.submit(embedded("noop", data))).id,
    enqueueBatch: async (items) => (await client.submitBatch(items.map((data) => embedded("noop", data)))).length,
    consumerArgs: { address: server.address },
    unfinished: async () => (await client.listPage({ filter: { phases: UNFINISHED }, pageSize: 1 })).tasks.length,
    isCompleted: async (taskId) => (await client.get(taskId)).status?.phase === TaskPhase.TASK_PHASE_SUCCEEDED,
    async idleWorker(onStart) {
      const runner = new Runner({ address: server.address, name: "latency", capacity: 1, log: quiet }).handle(
        "noop",
        (payload) => {
          onStart(payload);
        },
      );
      await runner.start();
      return { stop: () => runner.stop() };
    },
    async close() {
      client.close();
      await server.stop();
    },
  };
}

/** In a consumer process: one runner of `concurrency` capacity with an embedded no-op handler. */
export async function consume({ address, concurrency, name }, onCompleted) {
  const runner = new Runner({ address, name, capacity: concurrency, log: quiet }).handle("noop", () => {
    onCompleted();
  });
  await runner.start();
  return { stop: () => runner.stop() };
}
