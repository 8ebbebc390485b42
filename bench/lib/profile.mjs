// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per area.
import { readFileSync } from "node:fs";
import { resultName } from "./backend.mjs";

const AREAS = [
  ["(garbage collector)", /^\(garbage collector\)$/],
  ["(idle)", /^\(idle\)$/],
  ["(program)", /^\(program\)$/],
  ["better-sqlite3 (native + JS)", /better-sqlite3/],
  ["pg (node-postgres)", /node_modules\/(pg|pg-protocol|pg-types|pg-pool|pg-connection-string)\//],
  ["@grpc/grpc-js", /@grpc\/grpc-js/],
  ["zod", /\/zod\//],
  ["@bufbuild/protobuf", /@bufbuild\/protobuf/],
  ["sdk (generated protobuf codecs)", /sdk\/dist\/gen\//],
  ["sdk (other)", /sdk\/dist\//],
  ["server", /server\/dist\//],
  ["node: http2 (grpc-js transport)", /^node:internal\/http2/],
  [
    "node: AbortController / DOMException / events",
    /^node:internal\/(abort_controller|per_context\/domexception|event_target|events)/,
  ],
  ["node: crypto", /^node:internal\/crypto/],
  ["node: streams / buffers", /^node:internal\/(streams|buffer|stream_base_commons)|^node:buffer/],
  ["node: timers / microtasks", /^node:internal\/(timers|process\/task_queues)/],
  ["node: other internals", /^node:/],
];

function areaOf(frame) {
  const key = frame.url || frame.functionName;
  for (const [name, pattern] of AREAS) if (pattern.test(key)) return name;
  if (!frame.url) return "(native / builtins)";
  return "other";
}

export function summarizeProfile(path, top = 15) {
  const profile = JSON.parse(readFileSync(path, "utf8"));
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const delta = timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, delta));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const functions = new Map();
  const areas = new Map();
  for (const [id, us] of selfUs) {
    const frame = byNode.get(id).callFrame;
    const file = frame.url
      ? frame.url.replace(/^file:\/\//, "").replace(/^.*?\/(node_modules|server\/dist|sdk\/dist)\//, "$1/")
      : "";
    const key = `${frame.functionName || "(anonymous)"} ${file}${frame.url ? `:${frame.lineNumber + 1}` : ""}`.trim();
    functions.set(key, (functions.get(key) ?? 0) + us);
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const pct = (us) => Math.round((us / total) * 1000) / 10;
  const busy = total - (areas.get("(idle)") ?? 0);
  return {
    file: path,
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    topSelf: [...functions]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({
        function: fn,
        selfMs: Math.round(us / 1000),
        pctOfTotal: pct(us),
        pctOfBusy: fn.startsWith("(idle)") ? undefined : Math.round((us / busy) * 1000) / 10,
      })),
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({
        area,
        selfMs: Math.round(us / 1000),
        pctOfTotal: pct(us),
        pctOfBusy: area === "(idle)" ? undefined : Math.round((us / busy) * 1000) / 10,
      })),
  };
}

/**
 * One more pass with the server under --cpu-prof: `pass(execArgv)` runs it (and stops its server);
 * the profile is kept as bench/results/<scenario>-server.cpuprofile and summarised.
 */
export async function profiledPass(scenario, pass, { resultsDir, printTable, units = (r) => r.itemsPerSec }) {
  const { copyFileSync, mkdtempSync, readdirSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "supervisor-bench-prof-"));
  try {
    const result = await pass(["--cpu-prof", "--cpu-prof-dir", dir]);
    // One file per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the event loop is thread 0.
    const files = readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
    const threadOf = (name) => Number(name.split(".").at(-3));
    const file = files.find((name) => threadOf(name) === 0) ?? files[0];
    if (!file) return undefined;
    const kept = join(resultsDir, `${resultName(scenario)}-server.cpuprofile`);
    copyFileSync(join(dir, file), kept);
    const profile = { ...summarizeProfile(kept, 15), tasksPerSecUnderProfiler: Math.round(units(result)) };
    printTable(`server CPU profile during ${scenario}: top self time`, profile.topSelf);
    printTable("server CPU profile by area", profile.areas);
    // Worker threads (the SQLite writer): kept beside it, their top self time shown too.
    profile.threads = {};
    for (const other of files.filter((name) => name !== file)) {
      const threadKept = join(resultsDir, `${resultName(scenario)}-server-thread${threadOf(other)}.cpuprofile`);
      copyFileSync(join(dir, other), threadKept);
      const summary = summarizeProfile(threadKept, 10);
      profile.threads[threadOf(other)] = summary;
      printTable(`server thread ${threadOf(other)} during ${scenario}: top self time`, summary.topSelf);
    }
    return profile;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One more pass with this (the client's) process profiled through the inspector: `pass()` runs it; the profile
 * is kept as bench/results/<scenario>-client.cpuprofile and summarised.
 */
export async function profileThisProcess(scenario, pass, { resultsDir, printTable, units = (r) => r.itemsPerSec }) {
  const { writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    const result = await pass();
    const { profile: cpuProfile } = await session.post("Profiler.stop");
    const kept = join(resultsDir, `${resultName(scenario)}-client.cpuprofile`);
    writeFileSync(kept, JSON.stringify(cpuProfile));
    const profile = { ...summarizeProfile(kept, 15), tasksPerSecUnderProfiler: Math.round(units(result)) };
    printTable(`client CPU profile during ${scenario}: top self time`, profile.topSelf);
    printTable("client CPU profile by area", profile.areas);
    return profile;
  } finally {
    session.disconnect();
  }
}
