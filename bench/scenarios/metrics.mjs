// metrics: what counting metrics costs. Alternates passes with metrics on (the default: counted, served
// on a free port) and off (--metrics-listen off: nothing counted, no interceptor), so drift on a shared
// machine falls on both alike; unary submit (64 in flight) and end to end (4 runners), medians of rounds.

import { startSupervisor } from "../lib/procs.mjs";
import { printTable, round, target, writeResult } from "../lib/stats.mjs";
import { e2ePass } from "./e2e.mjs";
import { supervisorSubmitPass } from "./submit.mjs";

export const description = "metrics on vs off (--metrics-listen off): unary submit and end to end, alternating";

const ON = { metricsListen: "127.0.0.1:0" };
const OFF = { metricsListen: "off" };
const RUNNERS = [
  ["r1", "r2"],
  ["r3", "r4"],
];

async function submitPass(settings, opts) {
  const server = await startSupervisor(settings);
  try {
    return (await supervisorSubmitPass(server.address, opts)).opsPerSec;
  } finally {
    await server.stop();
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

export async function run(opts) {
  const rounds = opts.quick ? 1 : (opts.rounds ?? 5);
  const submitOpts = { durationMs: opts.durationMs ?? 6_000, maxOps: 400_000, warmupMs: opts.warmupMs ?? 1_000 };
  const e2eOpts = { tasks: opts.quick ? 2_000 : 20_000, timeoutMs: 60_000 };
  const figures = { submit: { on: [], off: [] }, e2e: { on: [], off: [] } };
  for (let i = 0; i < rounds; i++) {
    // Which goes first alternates too: a round's second pass may find the machine warmer.
    const order = i % 2 === 0 ? ["on", "off"] : ["off", "on"];
    for (const mode of order) {
      figures.submit[mode].push(await submitPass(mode === "on" ? ON : OFF, submitOpts));
    }
    for (const mode of order) {
      const settings = mode === "on" ? ON : OFF;
      figures.e2e[mode].push((await e2ePass(`e2e metrics ${mode}`, RUNNERS, { ...e2eOpts, settings })).tasksPerSec);
    }
    console.log(
      `  round ${i + 1}/${rounds}: submit on ${round(figures.submit.on[i], 0)} / off ${round(figures.submit.off[i], 0)}/s,` +
        ` e2e on ${round(figures.e2e.on[i], 0)} / off ${round(figures.e2e.off[i], 0)}/s`,
    );
  }
  const rows = ["submit", "e2e"].map((name) => {
    const on = median(figures[name].on);
    const off = median(figures[name].off);
    return {
      scenario: name === "submit" ? "unary submit, 64 in flight" : "end to end, 4 runners",
      "metrics on /s": round(on, 0),
      "metrics off /s": round(off, 0),
      "on / off": round(on / off, 3),
      "rounds (on)": figures[name].on.map((v) => round(v, 0)).join(" "),
      "rounds (off)": figures[name].off.map((v) => round(v, 0)).join(" "),
    };
  });
  printTable(`metrics: on vs off, medians of ${rounds} alternating rounds`, rows);
  const targets = rows.map((row) => target(`${row.scenario}: metrics on / off`, row["on / off"], ">=", 0.95));
  printTable("targets", targets);
  return writeResult("metrics", { settings: { rounds, submitOpts, e2eOpts }, figures, rows, targets });
}
