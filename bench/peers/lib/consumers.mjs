// N consumer processes of one system (workers/consumer.mjs) and the sum of what they finished.
import { fileURLToPath } from "node:url";
import { startWorkerScript } from "../../lib/procs.mjs";

const CONSUMER = fileURLToPath(new URL("../workers/consumer.mjs", import.meta.url));

export function startConsumers(system, args, count) {
  const done = new Array(count).fill(0);
  const lastAt = new Array(count).fill(0);
  let waiter;
  const check = () => {
    if (waiter && done.reduce((a, b) => a + b, 0) >= waiter.total) waiter.resolve(Math.max(...lastAt));
  };
  const workers = Array.from({ length: count }, (_, k) => {
    const worker = startWorkerScript(
      CONSUMER,
      { system, args: { ...args, name: `${system}-consumer-${k}` } },
      `${system} consumer ${k}`,
    );
    worker.child.on("message", (message) => {
      if (message?.type !== "progress") return;
      done[k] = message.done;
      lastAt[k] = message.lastAt;
      check();
    });
    worker.child.once("exit", (code, signal) => {
      waiter?.reject(new Error(`${system} consumer ${k} exited (${code ?? signal}): ${worker.stderr.join("\n")}`));
    });
    return worker;
  });
  return {
    ready: (timeoutMs = 60_000) => Promise.all(workers.map((w) => w.next("ready", timeoutMs))),
    finished: () => done.reduce((a, b) => a + b, 0),
    /** Resolves with the monotonic time the last of `total` handlers returned (as the consumers saw it). */
    handled(total, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`consumers finished ${this.finished()} of ${total} jobs within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiter = {
          total,
          resolve: (at) => {
            clearTimeout(timer);
            waiter = undefined;
            resolve(at);
          },
          reject: (error) => {
            clearTimeout(timer);
            waiter = undefined;
            reject(error);
          },
        };
        check();
      });
    },
    stop: () => Promise.all(workers.map((w) => w.stop(15_000))),
  };
}
