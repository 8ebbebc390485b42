// storage: bytes per task on disk for a typical spec (subprocess, 2 args, 3 labels, request_id)
// after 50 000 tasks — (db + WAL after the shutdown checkpoint − the same for an empty database) / N —
// and bytes on disk per stored output byte for 4 KiB chunks. Baselines: the raw protobuf size of
// the Task message; for output, the same runs without output (so only the chunks differ).

import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { Task } from "@supervisor/sdk";
import { closedLoop, noopSpec, submitRequest, taskClient, typicalSpec, unary } from "../lib/clients.mjs";
import { Database } from "../lib/deps.mjs";
import { startSupervisor } from "../lib/procs.mjs";
import { rawRunner } from "../lib/raw-runner.mjs";
import { printTable, round, sleep, writeResult } from "../lib/stats.mjs";
import { watchSucceeded } from "../lib/watch.mjs";

/** It measures the SQLite file (page sizes, dbstat): on PostgreSQL it does not apply. */
export const backends = ["sqlite"];
export const notApplicable = "it measures the SQLite file itself (file sizes, dbstat)";
export const description =
  "bytes per task in SQLite (50 000 typical tasks) and per output byte (4 KiB chunks) vs raw protobuf";

const size = (path) => (existsSync(path) ? statSync(path).size : 0);
const filesOf = (db) => ({ db: size(db), wal: size(`${db}-wal`) });

function tableBytes(db) {
  const handle = new Database(db, { readonly: true });
  try {
    return handle
      .prepare(
        "SELECT name, SUM(pgsize) AS bytes, SUM(payload) AS payload, COUNT(*) AS pages FROM dbstat GROUP BY name ORDER BY bytes DESC",
      )
      .all();
  } catch (error) {
    return [{ name: `(dbstat unavailable: ${error.message})`, bytes: 0 }];
  } finally {
    handle.close();
  }
}

/** Starts a server, runs `work(server)`, shuts down cleanly (WAL checkpointed), measures the files. */
async function measured(work) {
  const server = await startSupervisor();
  let extra;
  try {
    extra = await work(server);
  } catch (error) {
    await server.stop();
    throw error;
  }
  await server.stop({ remove: false });
  const files = filesOf(server.db);
  const tables = tableBytes(server.db);
  const { rmSync } = await import("node:fs");
  rmSync(server.dir, { recursive: true, force: true });
  return { ...files, total: files.db + files.wal, tables, ...extra };
}

async function runTasks(server, { count, output }) {
  const client = taskClient(server.address);
  const runner = rawRunner(server.address, { name: "storage-bench", capacity: 8, output });
  await runner.welcome;
  const { revision } = await unary(client, "listTasks", { pageSize: 1, pageToken: "", filter: undefined });
  let done;
  const all = new Promise((resolve) => (done = resolve));
  const watch = watchSucceeded(client, {
    sinceRevision: revision,
    onSucceeded: () => watch.seen.size >= count && done(),
  });
  await watch.live;
  await unary(client, "batchSubmitTasks", { requests: Array.from({ length: count }, () => submitRequest(noopSpec())) });
  const finished = await Promise.race([all.then(() => true), sleep(60_000).then(() => false)]);
  watch.cancel();
  runner.close();
  client.close();
  if (!finished) throw new Error(`only ${watch.seen.size} of ${count} runs finished within 60 s`);
  await sleep(200);
}

export async function run(opts) {
  const tasks = opts.quick ? 5_000 : (opts.tasks ?? 50_000);
  const runs = opts.quick ? 10 : 40;
  const chunkBytes = 4096;
  const chunksPerRun = 64; // 256 KiB per run: below the 1 MiB per-run cap, nothing is dropped

  const empty = await measured(async () => ({}));

  const protobufSizes = [];
  const withTasks = await measured(async (server) => {
    const client = taskClient(server.address);
    const result = await closedLoop({
      concurrency: 4,
      durationMs: 120_000,
      maxOps: Math.ceil(tasks / 500),
      op: async (i) => {
        const response = await unary(client, "batchSubmitTasks", {
          requests: Array.from({ length: Math.min(500, tasks - i * 500) }, (_, j) =>
            submitRequest(typicalSpec(i * 500 + j)),
          ),
        });
        for (const task of response.tasks) protobufSizes.push(Task.encode(task).finish().length);
        return response;
      },
      units: (r) => r.tasks.length,
    });
    client.close();
    return { submitted: result.items };
  });
  const protobufMean = protobufSizes.reduce((a, b) => a + b, 0) / protobufSizes.length;
  const perTask = (withTasks.total - empty.total) / withTasks.submitted;

  const data = randomBytes(chunkBytes);
  const withoutOutput = await measured((server) => runTasks(server, { count: runs }));
  const withOutput = await measured((server) =>
    runTasks(server, { count: runs, output: { chunks: chunksPerRun, data } }),
  );
  const outputBytes = runs * chunksPerRun * chunkBytes;
  const perOutputByte = (withOutput.total - withoutOutput.total) / outputBytes;
  const chunkTable = withOutput.tables.find((t) => t.name === "output_chunks");
  const chunkTablePerByte = chunkTable ? chunkTable.bytes / outputBytes : NaN;

  printTable(
    `storage: ${withTasks.submitted.toLocaleString("en-US")} typical tasks (pending; submitted with request_id)`,
    [
      { measure: "database + WAL after checkpoint, empty", bytes: empty.total },
      { measure: `database + WAL after checkpoint, ${withTasks.submitted} tasks`, bytes: withTasks.total },
      { measure: "bytes on disk per task", bytes: round(perTask, 0) },
      { measure: "raw protobuf Task message (baseline), mean", bytes: round(protobufMean, 0) },
    ],
  );
  printTable(
    "where the bytes are (dbstat, 50 000 tasks)",
    withTasks.tables.map((t) => ({
      "table / index": t.name,
      bytes: t.bytes,
      "bytes per task": round(t.bytes / withTasks.submitted, 0),
      "payload per task": round((t.payload ?? 0) / withTasks.submitted, 0),
    })),
  );
  printTable(`output: ${runs} runs x ${chunksPerRun} chunks of ${chunkBytes} B = ${outputBytes} B`, [
    { measure: "database + WAL, runs without output", bytes: withoutOutput.total },
    { measure: "database + WAL, same runs with output", bytes: withOutput.total },
    { measure: "bytes on disk per output byte (file delta)", bytes: round(perOutputByte, 3) },
    { measure: "output_chunks table bytes per output byte (dbstat)", bytes: round(chunkTablePerByte, 3) },
  ]);
  const ratios = { diskOverProtobuf: perTask / protobufMean, outputDiskPerByte: perOutputByte };
  printTable("ratios", [
    { ratio: "bytes per task on disk / raw protobuf Task", value: round(ratios.diskOverProtobuf, 2) },
    { ratio: "output bytes on disk / output bytes stored", value: round(ratios.outputDiskPerByte, 3) },
  ]);
  const targets = [
    {
      target: "bytes per task on disk",
      goal: "(reported; baseline: protobuf)",
      measured: `${round(perTask, 0)} B (${round(ratios.diskOverProtobuf, 2)}x protobuf ${round(protobufMean, 0)} B)`,
      met: "-",
    },
    {
      target: "disk bytes per output byte (4 KiB chunks)",
      goal: "(reported; baseline: 1.0)",
      measured: `${round(perOutputByte, 3)}x`,
      met: "-",
    },
  ];
  printTable("targets", targets);
  return writeResult("storage", {
    settings: {
      tasks,
      spec: "subprocess /bin/echo hello world-<n>, labels team/env/shard, request_id",
      runs,
      chunkBytes,
      chunksPerRun,
      measurement: "file sizes after a clean shutdown (wal_checkpoint(TRUNCATE))",
    },
    figures: {
      emptyBytes: empty.total,
      withTasksBytes: withTasks.total,
      tasks: withTasks.submitted,
      bytesPerTask: perTask,
      protobufTaskBytesMean: protobufMean,
      tables: withTasks.tables,
      output: {
        outputBytes,
        withoutOutputBytes: withoutOutput.total,
        withOutputBytes: withOutput.total,
        bytesPerOutputByte: perOutputByte,
        outputChunksTable: chunkTable,
        outputChunksTablePerByte: chunkTablePerByte,
        tablesWithOutput: withOutput.tables,
      },
    },
    ratios,
    targets,
  });
}
