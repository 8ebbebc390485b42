// The supervisor in its own process, as deployed: `node bench/serve.mjs '<settings JSON>'`.
// Prints one JSON line {"address","pid"} on stdout once listening. Talks to the bench over IPC:
//   {cmd:"gc"} → runs a full GC (needs --expose-gc), answers {type:"gc", memory}
//   {cmd:"stop"} → clean shutdown (WAL checkpoint), then exits 0.
// SIGTERM and a lost parent (IPC disconnect) shut down the same way.
import * as configModule from "../server/dist/config.js";
import { createLogger } from "../server/dist/log.js";
import { startServer } from "../server/dist/server.js";

const requested = JSON.parse(process.argv[2] ?? "{}");
// The server's settings evolve; pass only the keys this build knows, and say which were dropped.
const known = new Set(configModule.CONFIG_KEYS ?? Object.keys(requested));
const flags = {};
for (const [key, value] of Object.entries(requested)) {
  if (known.has(key)) flags[key] = value;
  else process.stderr.write(`bench/serve: this server build has no setting "${key}"; ignored\n`);
}
const config = configModule.loadConfig({ flags, env: {} });
// The log goes to stderr: stdout carries the one line the bench reads (the address).
const server = await startServer(config, createLogger({ destination: process.stderr }));

let stopping;
const stop = (code = 0) =>
  (stopping ??= server
    .shutdown()
    .then(() => process.exit(code))
    .catch((error) => {
      process.stderr.write(`bench/serve: shutdown failed: ${error?.stack ?? error}\n`);
      process.exit(1);
    }));

process.on("SIGTERM", () => stop());
process.on("SIGINT", () => stop());
process.on("disconnect", () => stop());
process.on("message", (message) => {
  if (message?.cmd === "gc") {
    globalThis.gc?.();
    globalThis.gc?.();
    process.send?.({ type: "gc", id: message.id, memory: process.memoryUsage() });
  } else if (message?.cmd === "stop") {
    stop();
  }
});
process.stdout.write(`${JSON.stringify({ address: server.address, pid: process.pid })}\n`);
