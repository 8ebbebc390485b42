// SDK Runners in their own process, each with an embedded "noop" handler that returns at once.
// args: {address, runners: [{name, capacity}]}. Says {type:"ready"} once every runner is welcomed;
// {cmd:"stop"} stops them (finishing what they hold) and exits.
import { Runner } from "@supervisor/sdk";

const { address, runners: specs } = JSON.parse(process.argv[2]);
const runners = specs.map(({ name, capacity }) =>
  new Runner({
    address,
    name,
    capacity,
    kinds: ["embedded:noop"],
    log: (line) => process.stderr.write(`${line}\n`),
  }).handle("noop", () => undefined),
);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(0), 5_000);
  await Promise.all(runners.map((r) => r.stop().catch(() => {})));
  clearTimeout(timer);
  process.exit(0);
};
process.on("message", (message) => message?.cmd === "stop" && stop());
process.on("disconnect", stop);
const timer = setTimeout(() => {
  process.stderr.write("runners were not welcomed within 30 s\n");
  process.exit(1);
}, 30_000);
await Promise.all(runners.map((r) => r.start()));
clearTimeout(timer);
process.send({ type: "ready", runnerIds: runners.map((r) => r.runnerId) });
