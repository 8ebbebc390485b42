import { rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { credentials, Metadata } from "@grpc/grpc-js";
import { TaskServiceClient, TaskSpec } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

describe("trace export", () => {
  it("OTEL_EXPORTER_OTLP_ENDPOINT makes `supervisor serve` post its spans over OTLP; SIGTERM flushes them", async () => {
    const bodies: Buffer[] = [];
    const collector = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.url === "/v1/traces") bodies.push(Buffer.concat(chunks));
        response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => collector.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const db = await storeForTest(dir, "export.db");
    const serve = await startCli(["serve", "--listen", "127.0.0.1:0", "--db", db], /serving on (\S+)/, {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: "supervisor-under-test" },
    });
    onTestFinished(() => stopChild(serve.child, "SIGKILL").then(() => {}));
    expect(serve.output()).toContain(`exporting traces over OTLP to ${endpoint}`);
    const client = new TaskServiceClient(serve.match[1]!, credentials.createInsecure());
    onTestFinished(() => client.close());
    const metadata = new Metadata();
    metadata.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    const spec = TaskSpec.fromPartial({ exec: { $case: "subprocess", value: { command: "true" } } });
    await new Promise((resolve, reject) =>
      client.submitTask({ spec, requestId: "" }, metadata, (error, answer) =>
        error ? reject(error) : resolve(answer),
      ),
    );
    expect(await stopChild(serve.child, "SIGTERM")).toBe(0);
    await waitUntil(() => bodies.length > 0, "the exported spans");
    const exported = Buffer.concat(bodies);
    expect(exported.includes("supervisor.v1.TaskService/SubmitTask")).toBe(true);
    expect(exported.includes("supervisor-under-test")).toBe(true);
    expect(exported.includes(Buffer.from("0af7651916cd43dd8448eb211c80319c", "hex"))).toBe(true);
  });
});
