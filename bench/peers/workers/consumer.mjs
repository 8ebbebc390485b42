// One consumer process of a system: `node consumer.mjs '{"system":"bullmq","args":{...}}'`.
// Runs the system's consume(args) with a no-op handler that counts what it finished, and tells the
// harness over IPC: {type:"ready"} once consuming, then {type:"progress", done, lastAt} at most every
// 10 ms (a message per job would cost the 2-core machine more than the jobs do). {cmd:"stop"} (or a
// lost parent) stops the consumer and exits; a watchdog ends it regardless after maxLifetimeMs.
import { nowMs } from "../../lib/stats.mjs";

const { system, args } = JSON.parse(process.argv[2]);
const watchdog = setTimeout(() => process.exit(3), args.maxLifetimeMs ?? 15 * 60_000);
watchdog.unref();

let done = 0;
let lastAt = 0;
let reported = 0;
const report = () => {
  if (done === reported || !process.connected) return;
  reported = done;
  process.send({ type: "progress", done, lastAt });
};
const ticker = setInterval(report, 10);

const { consume } = await import(`../systems/${system}.mjs`);
const consumer = await consume(args, () => {
  done++;
  lastAt = nowMs();
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  report();
  clearInterval(ticker);
  setTimeout(() => process.exit(0), 10_000).unref();
  await consumer.stop().catch((error) => process.stderr.write(`consumer stop: ${error?.message ?? error}\n`));
  process.exit(0);
}
process.on("message", (message) => message?.cmd === "stop" && stop());
process.on("disconnect", stop);
process.send({ type: "ready" });
