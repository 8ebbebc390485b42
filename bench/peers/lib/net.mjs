// Loopback ports: a free one for a server we start, and a bounded wait until it accepts connections.
import { createConnection, createServer } from "node:net";
import { sleep } from "../../lib/stats.mjs";

/** A TCP port free on 127.0.0.1 right now (the OS picks it; the server we start takes it next). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Waits until 127.0.0.1:port accepts a TCP connection; `alive()` false (the server died) stops the wait early. */
export async function waitForPort(port, { timeoutMs = 30_000, alive = () => true, what = `port ${port}` } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${what} exited before listening`);
    if (await canConnect(port)) return;
    await sleep(20);
  }
  throw new Error(`${what} did not listen within ${timeoutMs} ms`);
}
