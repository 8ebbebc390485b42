// A runner with an embedded handler: tasks with embedded{handler: "resize-image"}
// run here, in this process. Subprocess and wasm tasks run too.
// Run: SUPERVISOR_ADDR=127.0.0.1:50051 node examples/dist/typescript/runner.js
import { Runner } from "@supervisor/sdk";

const runner = new Runner({
  address: process.env.SUPERVISOR_ADDR ?? "127.0.0.1:50051",
  name: process.env.RUNNER_NAME ?? "example-runner",
  labels: { example: "ts" },
  capacity: 4,
});

runner.handle("resize-image", async (payload, ctx) => {
  const { width, height, scale } = payload as { width: number; height: number; scale: number };
  ctx.log(`resizing ${width}x${height} by ${scale}`);
  // Long work should watch ctx.signal: it aborts on cancel and at the deadline.
  if (ctx.signal.aborted) throw new Error("canceled");
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
});

const runnerId = await runner.start();
console.log(`runner connected as ${runnerId}`);

// SIGTERM/SIGINT: finish what is running, report it, then exit.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => void runner.stop().then(() => process.exit(0)));
}
