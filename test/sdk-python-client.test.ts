import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:net";
import { promisify } from "node:util";
import { Server as GrpcServer, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { SupervisorClient, TaskServiceService } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { makeCertificates } from "./helpers/certs.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { freePort } from "./helpers/ports.js";
import { installPythonSdk, missingPython, type PythonSdk, pythonEnv } from "./helpers/sdk-programs.js";
import { startTestServer } from "./helpers/server.js";

const run = promisify(execFile);

const missing = missingPython();

// The SDKs speak gRPC to the server; the storage behind it does not change what they do: SQLite only.
describe.skipIf(missing.length > 0 || BACKEND !== "sqlite")("the Python SDK's client", () => {
  let sdk: PythonSdk;
  beforeAll(async () => {
    sdk = await installPythonSdk();
  });
  afterAll(() => sdk?.remove());

  /** Runs test/python/client_cases.py <name> against `address`; resolves with its stdout lines. */
  async function pythonCase(name: string, address: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const { stdout } = await run(sdk.python, ["-I", "test/python/client_cases.py", name], {
      cwd: REPO_ROOT,
      env: pythonEnv({ SUPERVISOR_ADDR: address, ...env }),
    });
    return stdout.trim().split("\n");
  }

  it("retries a submit until a server comes up, with one request id: one task", async () => {
    // Nothing serves the port yet: a listener takes the first connection, drops it and goes away (the
    // refusal is seen), then the real server starts on that port while the Python client retries.
    const port = await freePort();
    let refusedOnce!: () => void;
    const refused = new Promise<void>((resolve) => (refusedOnce = resolve));
    const front: Server = createServer((socket) => {
      socket.destroy();
      front.close(() => refusedOnce());
    });
    await new Promise<void>((resolve) => front.listen(port, "127.0.0.1", resolve));
    const requestId = randomUUID();
    const submitted = pythonCase("retry", `127.0.0.1:${port}`, { REQUEST_ID: requestId });
    await refused;
    const server = await startTestServer({ listen: `127.0.0.1:${port}` });
    const client = new SupervisorClient({ address: server.address });
    try {
      const [line] = await submitted;
      const [, id, echoed] = line!.split(" ");
      expect(echoed).toBe(requestId);
      const page = await client.listPage({ filter: { labelSelector: "case=retry" } });
      expect(page.tasks.map((t) => [t.id, t.requestId])).toEqual([[id, requestId]]);
    } finally {
      client.close();
      await server.close();
    }
  });

  it("decodes ErrorInfo metadata, REQUEST_ID_REUSED, a passed deadline and a bad field", async () => {
    const server = await startTestServer();
    // A gRPC server whose GetTask never answers: each attempt ends at its deadline.
    const silent = new GrpcServer();
    silent.addService(TaskServiceService, { getTask: () => {} } as unknown as UntypedServiceImplementation);
    const silentPort = await new Promise<number>((resolve, reject) =>
      silent.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    const silentAddress = `127.0.0.1:${silentPort}`;
    try {
      expect(await pythonCase("errors", server.address, { SILENT_ADDR: silentAddress })).toEqual([
        "busy FAILED_PRECONDITION SLOT_BUSY True",
        "reused ALREADY_EXISTS REQUEST_ID_REUSED",
        "deadline DEADLINE_EXCEEDED",
        "selector INVALID_ARGUMENT LABEL_SELECTOR_INVALID filter.label_selector",
      ]);
    } finally {
      silent.forceShutdown();
      await server.close();
    }
  });

  it("speaks TLS with a bearer token; a wrong token is UNAUTHENTICATED / TOKEN_INVALID", async () => {
    const certs = makeCertificates();
    const token = "python-client-token-0123456789";
    const server = await startTestServer({
      tlsCert: certs.serverCert,
      tlsKey: certs.serverKey,
      tokens: JSON.stringify([{ name: "py", role: "client", token }]),
    });
    try {
      // The server certificate names IP:127.0.0.1, so the address is used as it is.
      expect(await pythonCase("secure", server.address, { CA_FILE: certs.ca, TOKEN: token })).toEqual([
        "submitted True",
        "denied UNAUTHENTICATED TOKEN_INVALID",
      ]);
    } finally {
      await server.close();
    }
  });

  it("follows a run's output to its end", async () => {
    const server = await startTestServer();
    try {
      expect(await pythonCase("output", server.address)).toEqual([
        "events run_started chunk run_finished",
        "text line 1|line 2|line 3|",
      ]);
    } finally {
      await server.close();
    }
  });

  it("creates, triggers, pauses, lists and deletes a schedule; pauses and resumes dispatch", async () => {
    const server = await startTestServer();
    try {
      expect(await pythonCase("schedules", server.address)).toEqual([
        "created nightly 0 3 * * *",
        "triggered nightly",
        "paused True",
        "listed ['nightly']",
        "deleted NOT_FOUND SCHEDULE_NOT_FOUND",
      ]);
      expect(await pythonCase("dispatch", server.address)).toEqual([
        "paused hold-a a",
        "listed ['hold-a']",
        "resumed hold-a",
      ]);
    } finally {
      await server.close();
    }
  });
});
