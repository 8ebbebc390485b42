// http: the HTTP/JSON API against gRPC, same server, same run: SubmitTask and GetTask, 16 in flight.
// Passes: (a) gRPC with the generated client (the baseline), (b) HTTP/JSON to the server's own API
// (transcoded in process, as shipped), (c) HTTP/JSON through the same transcoder run in the bench
// process forwarding each call over a loopback gRPC client (the alternative design), so (b) vs (c)
// is the cost of the in-process call against a loopback hop. HTTP clients: node:http with
// keep-alive sockets (one per caller). Everything shares the machine's cores.

import { Agent, createServer, request } from "node:http";
import { httpApi } from "../../server/dist/http/http-api.js";
import { httpBindings } from "../../server/dist/http/http-rules.js";
import { protoRegistry } from "../../server/dist/http/proto-registry.js";
import { RpcFailure } from "../../server/dist/http/rpc-invoker.js";
import { closedLoop, submitRequest, taskClient, typicalSpec, unary } from "../lib/clients.mjs";
import { grpc } from "../lib/deps.mjs";
import { cpuMeter, startSupervisor } from "../lib/procs.mjs";
import { printTable, round, writeResult } from "../lib/stats.mjs";

export const description = "HTTP/JSON submit and get (in process, and via a loopback gRPC hop) vs gRPC";

const CONCURRENCY = 16;
const STATUS_DETAILS = "grpc-status-details-bin";

/** The transcoder's RpcInvoker over a gRPC client: what a loopback design would do per call. */
class LoopbackInvoker {
  constructor(address) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }
  unary(rpc, bytes, info) {
    const identity = (value) => value;
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(`/${rpc}`, identity, identity, Buffer.from(bytes), info.metadata, (error, value) =>
        error
          ? reject(new RpcFailure(error.code, error.details, error.metadata?.get(STATUS_DETAILS)[0]))
          : resolve(value),
      ),
    );
  }
  serverStream() {
    throw new Error("not used by this bench");
  }
  close() {
    this.client.close();
  }
}

/** An HTTP/JSON API in this process on a free port, calling the supervisor over loopback gRPC. */
async function startLoopbackApi(address) {
  const registry = protoRegistry();
  const invoker = new LoopbackInvoker(address);
  const handler = httpApi({
    bindings: httpBindings(registry),
    invoker,
    registry,
    authEnabled: false,
    maxBodyBytes: 4 * 1024 * 1024,
    log: () => {},
  });
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      invoker.close();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** One HTTP/JSON call over a keep-alive agent; resolves with the parsed answer, rejects on a non-200. */
function httpJson(agent, base, method, path, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const url = new URL(base + path);
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname + url.search,
        headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () =>
          response.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${response.statusCode} ${text}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** JSON of the typical spec, as an HTTP client writes it. */
const specJson = (i) => ({
  subprocess: { command: "/bin/echo", args: ["hello", `world-${i % 1000}`] },
  labels: { team: "infra", env: "prod", shard: String(i % 10) },
});

/** Completed calls of several closed-loop passes pooled: calls/s over their summed time, latency percentiles of all. */
function pooled(label, passes, serverCpu) {
  const completed = passes.reduce((sum, p) => sum + p.completed, 0);
  const elapsedMs = passes.reduce((sum, p) => sum + p.elapsedMs, 0);
  const rates = passes.map((p) => round(p.opsPerSec, 0));
  const median = (key) => round([...passes.map((p) => p.latencyMs[key])].sort((a, b) => a - b)[passes.length >> 1], 2);
  return {
    label,
    completed,
    errors: passes.reduce((sum, p) => sum + p.errors, 0),
    firstError: passes.find((p) => p.firstError)?.firstError,
    opsPerSec: (completed / elapsedMs) * 1000,
    perRound: rates,
    latencyMs: { p50: median("p50"), p99: median("p99") },
    serverCpu: round(serverCpu.reduce((a, b) => a + b, 0) / serverCpu.length, 2),
    clientCpu: round(passes.reduce((sum, p) => sum + p.clientCpu, 0) / passes.length, 2),
  };
}

/**
 * The variants of one call, interleaved: each round runs every variant once (after one warm-up of
 * each), so a change of machine load during the run falls on all of them alike.
 */
async function interleaved(variants, serverPid, { rounds, durationMs, warmupMs, maxOps }) {
  // Fresh keep-alive sockets per pass: a socket left idle through the other variants' passes would be
  // closed by the server (its keep-alive timeout, 5 s) as the client reuses it, a client-side ECONNRESET.
  const loop = async (variant, ms) => {
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    try {
      return await closedLoop({ concurrency: CONCURRENCY, durationMs: ms, maxOps, op: (i) => variant.op(i, agent) });
    } finally {
      agent.destroy();
    }
  };
  for (const variant of variants) await loop(variant, warmupMs);
  const results = variants.map(() => ({ passes: [], cpu: [] }));
  for (let pass = 0; pass < rounds; pass++) {
    for (const [i, variant] of variants.entries()) {
      const meter = cpuMeter(serverPid);
      results[i].passes.push(await loop(variant, durationMs));
      results[i].cpu.push(meter().utilization);
    }
  }
  return variants.map((variant, i) => pooled(variant.label, results[i].passes, results[i].cpu));
}

export async function run(opts = {}) {
  const durationMs = opts.quick ? 1_000 : 3_000;
  const warmupMs = opts.quick ? 300 : 1_000;
  const rounds = opts.quick ? 1 : 3;
  const settings = { rounds, durationMs, warmupMs, maxOps: 2_000_000 };
  const server = await startSupervisor({ httpListen: "127.0.0.1:0" });
  const loopback = await startLoopbackApi(server.address);
  const client = taskClient(server.address);
  try {
    const { task } = await unary(client, "submitTask", submitRequest(typicalSpec(0)));
    const id = task.id;
    const submits = await interleaved(
      [
        { label: "gRPC SubmitTask", op: (i) => unary(client, "submitTask", submitRequest(typicalSpec(i))) },
        {
          label: "HTTP POST /v1/tasks (in process)",
          op: (i, agent) => httpJson(agent, server.httpUrl, "POST", "/v1/tasks", { spec: specJson(i) }),
        },
        {
          label: "HTTP POST /v1/tasks (loopback gRPC hop)",
          op: (i, agent) => httpJson(agent, loopback.url, "POST", "/v1/tasks", { spec: specJson(i) }),
        },
      ],
      server.pid,
      settings,
    );
    const gets = await interleaved(
      [
        { label: "gRPC GetTask", op: () => unary(client, "getTask", { id }) },
        {
          label: "HTTP GET /v1/tasks/{id} (in process)",
          op: (_, agent) => httpJson(agent, server.httpUrl, "GET", `/v1/tasks/${id}`),
        },
        {
          label: "HTTP GET /v1/tasks/{id} (loopback gRPC hop)",
          op: (_, agent) => httpJson(agent, loopback.url, "GET", `/v1/tasks/${id}`),
        },
      ],
      server.pid,
      settings,
    );
    const row = (r) => ({
      pass: r.label,
      "calls/s": round(r.opsPerSec, 0),
      "per round": r.perRound.join(" / "),
      "p50 ms (median of rounds)": r.latencyMs.p50,
      "p99 ms (median)": r.latencyMs.p99,
      errors: r.errors,
      "server CPU": r.serverCpu,
      "bench CPU": r.clientCpu,
    });
    printTable(
      `http: ${CONCURRENCY} in flight, ${rounds} interleaved rounds of ${durationMs / 1000} s per pass`,
      [...submits, ...gets].map(row),
    );
    const ratio = (a, b) => round(a.opsPerSec / b.opsPerSec, 2);
    const ratios = [
      { ratio: "HTTP in process / gRPC, submit", value: ratio(submits[1], submits[0]) },
      { ratio: "HTTP in process / gRPC, get", value: ratio(gets[1], gets[0]) },
      { ratio: "HTTP loopback hop / in process, submit", value: ratio(submits[2], submits[1]) },
      { ratio: "HTTP loopback hop / in process, get", value: ratio(gets[2], gets[1]) },
    ];
    printTable("ratios", ratios);
    return writeResult("http", {
      settings: {
        concurrency: CONCURRENCY,
        rounds,
        durationMs,
        warmupMs,
        httpClient: "node:http keep-alive, one socket per caller",
      },
      figures: { submits, gets },
      ratios,
    });
  } finally {
    client.close();
    await loopback.close();
    await server.stop();
  }
}
