import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { credentials, loadPackageDefinition, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import {
  AdmissionPolicy,
  ErrorReason,
  Jitter,
  RestartPolicy,
  Runner,
  RunnerServiceClient,
  SubprocessExec,
  SupervisorClient,
  SupervisorError,
  signSpec,
  subprocess,
  TaskFilter,
  TaskPhase,
  TaskServiceClient,
  type TaskSpec,
  Trigger,
} from "@supervisor/sdk";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { type Certificates, makeCertificates } from "./helpers/certs.js";
import { runCli, startCli, stopChild } from "./helpers/cli.js";
import { expectError } from "./helpers/grpc.js";
import { waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { tamperStoredSpec } from "./helpers/tamper-stored-spec.js";
import { waitUntil } from "./helpers/wait.js";

const TOKENS = {
  client: "client-token-0123456789abcdef",
  runner: "runner-token-0123456789abcdef",
  operator: "operator-token-0123456789abcdef",
  readonly: "readonly-token-0123456789abcdef",
};
const hashed = (token: string) => createHash("sha256").update(token).digest("hex");
const tokenConfig = JSON.stringify([
  { name: "app", role: "client", token: TOKENS.client },
  { name: "worker", role: "runner", token: TOKENS.runner },
  { name: "ops", role: "operator", sha256: hashed(TOKENS.operator) }, // hashed at rest
  { name: "dash", role: "readonly", sha256: hashed(TOKENS.readonly) },
]);

/** One minimal call per method; resolves with the gRPC code it ended with (0 = OK). */
type Probe = (token: string | undefined) => Promise<{ code: number; reason?: string }>;

function probes(address: string): Record<string, Probe> {
  let probeRunners = 0; // each Connect probe's runner gets a name of its own
  const tasks = new TaskServiceClient(address, credentials.createInsecure());
  const runners = new RunnerServiceClient(address, credentials.createInsecure());
  const md = (token?: string) => {
    const metadata = new Metadata();
    if (token) metadata.set("authorization", `Bearer ${token}`);
    return metadata;
  };
  const outcome = (error: ServiceError | null) =>
    error ? { code: error.code, reason: SupervisorError.from(error).reason } : { code: 0 };
  const unary =
    (client: any, method: string, request: object): Probe =>
    (token) =>
      new Promise((resolve) =>
        client[method](request, md(token), (error: ServiceError | null) => resolve(outcome(error))),
      );
  const stream =
    (open: (metadata: Metadata) => any): Probe =>
    (token) =>
      new Promise((resolve) => {
        const call = open(md(token));
        call.on("data", () => {
          call.cancel();
          resolve({ code: 0 });
        });
        call.on("error", (error: ServiceError) =>
          resolve(error.code === status.CANCELLED ? { code: 0 } : outcome(error)),
        );
      });
  const id = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";
  return {
    SubmitTask: unary(tasks, "submitTask", { spec: subprocess("true"), requestId: "" }),
    BatchSubmitTasks: unary(tasks, "batchSubmitTasks", { requests: [{ spec: subprocess("true"), requestId: "" }] }),
    GetTask: unary(tasks, "getTask", { id }),
    ListTasks: unary(tasks, "listTasks", { pageSize: 1, pageToken: "" }),
    WatchTasks: stream((m) => tasks.watchTasks({ sinceRevision: 0, sendInitial: false }, m)),
    CancelTask: unary(tasks, "cancelTask", { id, reason: "" }),
    CancelTasks: unary(tasks, "cancelTasks", {
      filter: TaskFilter.fromPartial({ slot: "nobody-uses-this" }),
      reason: "",
      dryRun: true,
      all: false,
    }),
    RerunTask: unary(tasks, "rerunTask", { id, requestId: "" }),
    StreamTaskOutput: stream((m) => tasks.streamTaskOutput({ taskId: id, attempt: 0, follow: false, sinceSeq: 0 }, m)),
    ListTaskRuns: unary(tasks, "listTaskRuns", { taskId: id, pageSize: 0, pageToken: "" }),
    ExplainTask: unary(tasks, "explainTask", { id }),
    Connect: stream((m) => {
      const call = runners.connect(m);
      call.write({
        message: {
          $case: "hello",
          value: {
            name: `probe-${++probeRunners}`,
            labels: {},
            kinds: ["subprocess"],
            capacity: 1,
            version: "",
            activeRunIds: [],
            instanceId: "",
            finishedRunIds: [],
            acceptsBatches: false,
          },
        },
      });
      return call;
    }),
    ListRunners: unary(runners, "listRunners", { pageSize: 0, pageToken: "", labelSelector: "" }),
    DrainRunner: unary(runners, "drainRunner", { runnerId: "nope" }),
    UndrainRunner: unary(runners, "undrainRunner", { runnerId: "nope" }),
    DeleteRunner: unary(runners, "deleteRunner", { runnerId: "nope" }),
  };
}

const ALLOWED: Record<keyof typeof TOKENS, string[]> = {
  client: [
    "SubmitTask",
    "BatchSubmitTasks",
    "GetTask",
    "ListTasks",
    "WatchTasks",
    "CancelTask",
    "CancelTasks",
    "RerunTask",
    "StreamTaskOutput",
    "ListTaskRuns",
    "ExplainTask",
  ],
  runner: ["Connect"],
  operator: [
    "SubmitTask",
    "BatchSubmitTasks",
    "GetTask",
    "ListTasks",
    "WatchTasks",
    "CancelTask",
    "CancelTasks",
    "RerunTask",
    "StreamTaskOutput",
    "ListTaskRuns",
    "ExplainTask",
    "Connect",
    "ListRunners",
    "DrainRunner",
    "UndrainRunner",
    "DeleteRunner",
  ],
  readonly: ["GetTask", "ListTasks", "WatchTasks", "StreamTaskOutput", "ListTaskRuns", "ExplainTask", "ListRunners"],
};

describe("authentication and roles", () => {
  let server: TestServer;
  let calls: Record<string, Probe>;
  beforeAll(async () => {
    server = await startTestServer({ tokens: tokenConfig });
    calls = probes(server.address);
  });
  afterAll(() => server?.close());

  for (const role of Object.keys(TOKENS) as (keyof typeof TOKENS)[]) {
    it(`role ${role}: allowed methods pass, every other is PERMISSION_DENIED / ROLE_FORBIDDEN`, async () => {
      for (const [method, probe] of Object.entries(calls)) {
        const result = await probe(TOKENS[role]);
        if (ALLOWED[role].includes(method)) {
          expect([status.UNAUTHENTICATED, status.PERMISSION_DENIED], `${role} → ${method}`).not.toContain(result.code);
        } else {
          expect(result, `${role} → ${method}`).toEqual({
            code: status.PERMISSION_DENIED,
            reason: ErrorReason.ROLE_FORBIDDEN,
          });
        }
      }
    });
  }

  it("no token is UNAUTHENTICATED / TOKEN_MISSING and an unknown one TOKEN_INVALID, on every method", async () => {
    for (const [method, probe] of Object.entries(calls)) {
      expect(await probe(undefined), method).toEqual({
        code: status.UNAUTHENTICATED,
        reason: ErrorReason.TOKEN_MISSING,
      });
      expect(await probe("not-a-real-token-at-all"), method).toEqual({
        code: status.UNAUTHENTICATED,
        reason: ErrorReason.TOKEN_INVALID,
      });
    }
  });

  it("health and reflection stay open without a token", async () => {
    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as any;
    const health = new pkg.grpc.health.v1.Health(server.address, credentials.createInsecure());
    const reply = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: "" }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    expect(reply.status).toBe("SERVING");
    health.close();
  });

  it("the SDK and CLI send their token", async () => {
    const client = new SupervisorClient({ address: server.address, token: TOKENS.client });
    onTestFinished(() => client.close());
    const anonymous = new SupervisorClient({ address: server.address });
    onTestFinished(() => anonymous.close());
    expect((await client.submit(subprocess("true"))).status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await expectError(
      anonymous.get("0190c5e2-7b1d-7c3a-8f00-0123456789ab"),
      status.UNAUTHENTICATED,
      ErrorReason.TOKEN_MISSING,
    );
    const cli = await runCli(["list", "--addr", server.address, "--token", TOKENS.readonly]);
    expect(cli.code).toBe(0);
    const denied = await runCli(["submit", "--addr", server.address, "--token", TOKENS.readonly, "--", "true"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("PERMISSION_DENIED (ROLE_FORBIDDEN)");
  });

  it("a runner authenticates with its token and runs work", async () => {
    const runner = new Runner({ address: server.address, name: "secure-runner", token: TOKENS.runner, log: () => {} });
    onTestFinished(() => runner.stop());
    await runner.start();
    const client = new SupervisorClient({ address: server.address, token: TOKENS.client });
    onTestFinished(() => client.close());
    const task = await client.submit(subprocess("true"));
    expect((await client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });
});

describe("auth settings", () => {
  it("protectHealthAndReflection requires a token for health too", async () => {
    const server = await startTestServer({ tokens: tokenConfig, protectHealthAndReflection: "true" });
    onTestFinished(() => server.close());
    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as any;
    const health = new pkg.grpc.health.v1.Health(server.address, credentials.createInsecure());
    onTestFinished(() => health.close());
    const error = await new Promise<ServiceError>((resolve) =>
      health.check({ service: "" }, (e: ServiceError) => resolve(e)),
    );
    expect(SupervisorError.from(error).reason).toBe(ErrorReason.TOKEN_MISSING);
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${TOKENS.readonly}`);
    const ok = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: "" }, metadata, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    expect(ok.status).toBe("SERVING");
  });

  it("listening beyond loopback without tokens is refused at start-up (exit 2), and the start-up log says when auth is off", async () => {
    const refused = await runCli(["serve", "--listen", "0.0.0.0:0", "--db", "/tmp/never.db"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("refusing to listen on 0.0.0.0:0 without authentication");
  });

  it("the README's production shape: serve off loopback with --tokens, a runner with its token runs work", async () => {
    const tokens = JSON.stringify([
      { name: "build-runners", role: "runner", sha256: hashed(TOKENS.runner) },
      { name: "ci", role: "client", sha256: hashed(TOKENS.client) },
    ]);
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const serve = await startCli(
      ["serve", "--listen", "0.0.0.0:0", "--db", await storeForTest(dir, "prod.db"), "--tokens", tokens],
      /serving on \S+:(\d+)/,
    );
    const address = `127.0.0.1:${serve.match[1]}`;
    let runner: Awaited<ReturnType<typeof startCli>> | undefined;
    try {
      expect(serve.output()).toContain("authentication on: 2 token(s)");
      runner = await startCli(
        ["runner", "--addr", address, "--token", TOKENS.runner, "--name", "build-1", "--label", "pool=build"],
        /connected/,
      );
      const done = await runCli([
        "submit",
        "--addr",
        address,
        "--token",
        TOKENS.client,
        "--wait",
        "--",
        "echo",
        "prod",
      ]);
      expect(done).toMatchObject({ code: 0, stdout: "prod\n" });
      await stopChild(runner.child);
    } finally {
      if (runner) await stopChild(runner.child);
      await stopChild(serve.child);
    }
  });

  it("caps the streams one client may hold open (RESOURCE_EXHAUSTED / TOO_MANY_STREAMS)", async () => {
    const server = await startTestServer({ maxStreamsPerClient: 2 });
    onTestFinished(() => server.close());
    const client = new SupervisorClient({ address: server.address });
    onTestFinished(() => client.close());
    const controllers = [new AbortController(), new AbortController()];
    onTestFinished(() => {
      for (const controller of controllers) controller.abort();
    });
    const open = controllers.map((c) => client.watch({ signal: c.signal })[Symbol.asyncIterator]());
    await Promise.all(open.map((iterator) => iterator.next())); // both live
    const third = client.watch()[Symbol.asyncIterator]();
    await expectError(third.next(), status.RESOURCE_EXHAUSTED, ErrorReason.TOO_MANY_STREAMS);
    controllers[0]!.abort();
    await open[0]!.return(undefined);
    // The server counts the stream closed once it has seen the cancel: until then, a new one is refused.
    const reopened = await waitUntil(
      () =>
        client
          .watch()
          [Symbol.asyncIterator]()
          .next()
          .then(
            () => true,
            () => false,
          ),
      "a freed stream to be usable again",
      5_000,
    ).catch(() => false);
    expect(reopened).toBe(true);
  });
});

describe("TLS", () => {
  let certs: Certificates;
  beforeAll(() => {
    certs = makeCertificates();
  });
  const read = (path: string) => readFileSync(path);

  it("serves TLS: a client trusting the CA works, a plaintext client does not", async () => {
    const server = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey });
    onTestFinished(() => server.close());
    const secure = new SupervisorClient({ address: server.address, tls: { ca: read(certs.ca) } });
    onTestFinished(() => secure.close());
    expect((await secure.submit(subprocess("true"))).id).toBeTruthy();
    const plain = new SupervisorClient({
      address: server.address,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
      deadlineMs: 2000,
    });
    onTestFinished(() => plain.close());
    const error = await plain.get("0190c5e2-7b1d-7c3a-8f00-0123456789ab").then(
      () => undefined,
      (e: SupervisorError) => e,
    );
    expect(error?.code).toBe(status.UNAVAILABLE);
  });

  it("mutual TLS: only clients with a certificate from the trusted CA get in", async () => {
    const server = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca });
    onTestFinished(() => server.close());
    const noRetry = { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 };
    const trusted = new SupervisorClient({
      address: server.address,
      tls: { ca: read(certs.ca), cert: read(certs.clientCert), key: read(certs.clientKey) },
    });
    onTestFinished(() => trusted.close());
    expect((await trusted.submit(subprocess("true"))).id).toBeTruthy();
    for (const tls of [
      { ca: read(certs.ca) },
      { ca: read(certs.ca), cert: read(certs.strangerCert), key: read(certs.strangerKey) },
    ]) {
      const outsider = new SupervisorClient({ address: server.address, tls, retry: noRetry, deadlineMs: 2000 });
      onTestFinished(() => outsider.close());
      const error = await outsider.get("0190c5e2-7b1d-7c3a-8f00-0123456789ab").then(
        () => undefined,
        (e: SupervisorError) => e,
      );
      expect(error?.code).toBe(status.UNAVAILABLE);
    }
  });

  it("the CLI talks TLS with --tls-ca and mutual TLS with --tls-cert/--tls-key", async () => {
    const server = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca });
    onTestFinished(() => server.close());
    const ok = await runCli([
      "list",
      "--addr",
      server.address,
      "--tls-ca",
      certs.ca,
      "--tls-cert",
      certs.clientCert,
      "--tls-key",
      certs.clientKey,
    ]);
    expect(ok.code).toBe(0);
  });
});

describe("signed tasks", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const other = generateKeyPairSync("ed25519").privateKey;

  it("required signatures: unsigned, unknown key and tampered specs are PERMISSION_DENIED / SIGNATURE_INVALID; valid ones run", async () => {
    const server = await startTestServer({
      trustedKeys: JSON.stringify({ release: publicPem }),
      requireSignatures: "true",
    });
    onTestFinished(() => server.close());
    const client = new SupervisorClient({ address: server.address });
    onTestFinished(() => client.close());
    const spec = subprocess("echo", ["signed"]);
    await expectError(client.submit(spec), status.PERMISSION_DENIED, ErrorReason.SIGNATURE_INVALID);
    await expectError(
      client.submit(signSpec(spec, "release", other)),
      status.PERMISSION_DENIED,
      ErrorReason.SIGNATURE_INVALID,
    );
    await expectError(
      client.submit(signSpec(spec, "unknown", privateKey)),
      status.PERMISSION_DENIED,
      ErrorReason.SIGNATURE_INVALID,
    );
    const signed = signSpec(spec, "release", privateKey);
    const tampered = {
      ...signed,
      exec: { $case: "subprocess" as const, value: { ...(signed.exec as { value: any }).value, args: ["tampered"] } },
    };
    await expectError(client.submit(tampered), status.PERMISSION_DENIED, ErrorReason.SIGNATURE_INVALID);
    const runner = new Runner({
      address: server.address,
      name: "verifier",
      trustedKeys: { release: publicPem },
      requireSignatures: true,
      log: () => {},
    });
    onTestFinished(() => runner.stop());
    await runner.start();
    const task = await client.submit(signed);
    expect((await client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("signatures required per slot pattern", async () => {
    const server = await startTestServer({
      trustedKeys: JSON.stringify({ release: publicPem }),
      requireSignatures: JSON.stringify(["deploy-*"]),
    });
    onTestFinished(() => server.close());
    const client = new SupervisorClient({ address: server.address });
    onTestFinished(() => client.close());
    await expectError(
      client.submit(subprocess("true", [], { slot: "deploy-web" })),
      status.PERMISSION_DENIED,
      ErrorReason.SIGNATURE_INVALID,
    );
    expect((await client.submit(subprocess("true", [], { slot: "report-daily" }))).id).toBeTruthy();
    expect(
      (await client.submit(signSpec(subprocess("true", [], { slot: "deploy-api" }), "release", privateKey))).id,
    ).toBeTruthy();
  });

  it("a tampered database row never runs: the runner verifies again", async () => {
    const server = await startTestServer({ trustedKeys: JSON.stringify({ release: publicPem }) });
    onTestFinished(() => server.close());
    const submitter = new SupervisorClient({ address: server.address });
    const task = await submitter.submit(signSpec(subprocess("echo", ["intended"]), "release", privateKey));
    submitter.close();
    // Someone with write access to the database swaps the program. The live supervisor keeps the rows it
    // wrote in memory (it is the database's one writer), so the swap reaches a runner once it reads them back.
    await tamperStoredSpec(server.db, task.id, (spec) => {
      const exec = spec.exec as { $case: "subprocess"; value: { command: string; args: string[] } };
      exec.value.command = "sh";
      exec.value.args = ["-c", "echo pwned"];
    });
    await server.restart();
    const client = new SupervisorClient({ address: server.address });
    onTestFinished(() => client.close());
    const runner = new Runner({
      address: server.address,
      name: "careful",
      trustedKeys: { release: publicPem },
      log: () => {},
    });
    onTestFinished(() => runner.stop());
    await runner.start();
    const done = await client.waitFor(task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    const [run] = await client.listRuns(task.id);
    expect(run!.error).toContain(ErrorReason.SIGNATURE_INVALID);
    await expectError(collectOutput(client, task.id), status.NOT_FOUND, ErrorReason.OUTPUT_NOT_FOUND); // nothing ran
  });

  it("the CLI signs with --sign-key, and `supervisor keygen` / `supervisor token` make credentials", async () => {
    const { dir } = makeCertificates();
    expect((await runCli(["keygen", "--out", `${dir}/release`])).code).toBe(0);
    const server = await startTestServer({
      trustedKeys: JSON.stringify({ release: readFileSync(`${dir}/release.pub`, "utf8") }),
      requireSignatures: "true",
    });
    onTestFinished(() => server.close());
    const signedSubmit = await runCli([
      "submit",
      "--addr",
      server.address,
      "--sign-key",
      `release=${dir}/release.key`,
      "--",
      "echo",
      "ok",
    ]);
    expect(signedSubmit.code).toBe(0);
    const unsigned = await runCli(["submit", "--addr", server.address, "--", "echo", "ok"]);
    expect(unsigned.stderr).toContain("PERMISSION_DENIED (SIGNATURE_INVALID)");
    await server.close();
    const token = await runCli(["token", "--name", "ci", "--role", "client"]);
    const [, plain] = /token .*: (\S+)/.exec(token.stdout)!;
    const entry = JSON.parse(token.stdout.split('config entry for "tokens": ')[1]!);
    expect(entry).toMatchObject({ name: "ci", role: "client", sha256: hashed(plain!) });
  });
});

describe("signed tasks: the signature covers what runs, where, when and how often", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const trustedKeys = JSON.stringify({ release: publicPem });
  const ms = (n: number) => ({ seconds: Math.trunc(n / 1000), nanos: (n % 1000) * 1e6 });

  /** Every covered field away from its default, so that changing any of them is a real change. */
  const deploySpec = (slot: string): TaskSpec =>
    subprocess("echo", ["deployed"], {
      slot,
      timeout: ms(30_000),
      restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
      maxAttempts: 1,
      backoff: { initialDelay: ms(10), maxDelay: ms(20), multiplier: 2, jitter: Jitter.JITTER_NONE },
      admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
      runnerSelector: { matchLabels: { pool: "release" }, matchExpressions: [] },
      notBefore: new Date(Date.now() - 60_000),
    });

  /** One change per covered field (exec is covered by the "signed tasks" tests above). */
  const TAMPERS: [string, (spec: TaskSpec) => void][] = [
    ["timeout", (spec) => void (spec.timeout = ms(3_600_000))],
    ["restart", (spec) => void (spec.restart = RestartPolicy.RESTART_POLICY_ALWAYS)],
    ["max_attempts", (spec) => void (spec.maxAttempts = 2)],
    ["backoff", (spec) => void (spec.backoff = { ...spec.backoff!, multiplier: 3 })],
    ["runner_selector", (spec) => void (spec.runnerSelector = { matchLabels: {}, matchExpressions: [] })],
    ["slot", (spec) => void (spec.slot = `${spec.slot}-elsewhere`)],
    ["admission", (spec) => void (spec.admission = AdmissionPolicy.ADMISSION_POLICY_REPLACE)],
    ["not_before", (spec) => void (spec.notBefore = new Date(spec.notBefore!.getTime() - 1000))],
  ];
  const tampered = (spec: TaskSpec, tamper: (spec: TaskSpec) => void): TaskSpec => {
    const copy = { ...spec };
    tamper(copy);
    return copy;
  };

  describe("on submit", () => {
    let server: TestServer;
    let client: SupervisorClient;
    beforeAll(async () => {
      server = await startTestServer({ trustedKeys, requireSignatures: "true" });
      client = new SupervisorClient({ address: server.address });
    });
    afterAll(async () => {
      client.close();
      await server.close();
    });

    it.each(TAMPERS)(
      "a signed spec whose %s changed after signing is PERMISSION_DENIED / SIGNATURE_INVALID",
      async (field, tamper) => {
        const signed = signSpec(deploySpec(`deploy-submit-${field}`), "release", privateKey);
        const error = await expectError(
          client.submit(tampered(signed, tamper)),
          status.PERMISSION_DENIED,
          ErrorReason.SIGNATURE_INVALID,
        );
        expect(error.metadata).toMatchObject({ key_id: "release" });
        expect((await client.submit(signed)).id).toBeTruthy(); // the change, nothing else, was refused
      },
    );

    it("a changed field is refused in a batch too, naming the request (request_index)", async () => {
      const good = signSpec(deploySpec("deploy-batch-a"), "release", privateKey);
      const bad = tampered(signSpec(deploySpec("deploy-batch-b"), "release", privateKey), TAMPERS[0]![1]);
      const error = await expectError(
        client.submitBatch([good, bad]),
        status.PERMISSION_DENIED,
        ErrorReason.SIGNATURE_INVALID,
      );
      expect(error.metadata).toMatchObject({ request_index: "1" });
    });

    it("labels, priority and trigger are not covered: changing them keeps the signature valid", async () => {
      const signed = signSpec(deploySpec("deploy-informational"), "release", privateKey);
      const relabeled = { ...signed, labels: { team: "web" }, priority: 7, trigger: Trigger.TRIGGER_CLI };
      const task = await client.submit(relabeled);
      expect(task.spec).toMatchObject({ labels: { team: "web" }, priority: 7 });
    });

    it("a version 1 signature (over the exec message only) is PERMISSION_DENIED / SIGNATURE_INVALID", async () => {
      const spec = subprocess("echo", ["old"]);
      const exec = spec.exec!.value as SubprocessExec;
      const v1Bytes = Buffer.concat([
        Buffer.from("supervisor.v1.SubprocessExec\n"),
        SubprocessExec.encode(exec).finish(),
      ]);
      const v1Signed = { ...spec, signature: { keyId: "release", signature: sign(null, v1Bytes, privateKey) } };
      await expectError(client.submit(v1Signed), status.PERMISSION_DENIED, ErrorReason.SIGNATURE_INVALID);
    });
  });

  it("a spec signed without explicit defaults verifies on the server and on a runner process after the server filled them in", async () => {
    const server = await startTestServer({ trustedKeys, requireSignatures: "true" });
    onTestFinished(() => server.close());
    const keyFile = join(server.dir, "release.pub");
    writeFileSync(keyFile, publicPem);
    const runner = await startCli(
      [
        "runner",
        "--addr",
        server.address,
        "--name",
        "strict",
        "--trusted-key",
        `release=${keyFile}`,
        "--require-signatures",
      ],
      /connected/,
    );
    onTestFinished(async () => {
      await stopChild(runner.child);
    });
    const client = new SupervisorClient({ address: server.address });
    onTestFinished(() => client.close());
    const bare = subprocess("echo", ["defaults"]);
    expect(bare.timeout).toBeUndefined();
    const task = await client.submit(signSpec(bare, "release", privateKey));
    // What the runner gets is not what was signed: the server filled the defaults in.
    expect(task.spec).toMatchObject({
      timeout: ms(60_000),
      restart: RestartPolicy.RESTART_POLICY_NEVER,
      maxAttempts: 1,
      backoff: { initialDelay: ms(1000), maxDelay: ms(30_000), multiplier: 2, jitter: Jitter.JITTER_FULL },
      admission: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
      runnerSelector: { matchLabels: {}, matchExpressions: [] },
    });
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, exitCode: 0 });
    const [run] = await client.listRuns(task.id);
    expect(run).toMatchObject({ runnerName: "strict", error: "" });
  });

  describe("a stored row tampered with never runs: the runner refuses it", () => {
    let server: TestServer;
    let client: SupervisorClient;
    let runner: Awaited<ReturnType<typeof startCli>>;
    const ids = new Map<string, string>();

    beforeAll(async () => {
      // No runner yet: every task waits while its row is changed under the supervisor.
      server = await startTestServer({ trustedKeys });
      const submitter = new SupervisorClient({ address: server.address });
      for (const [field, tamper] of [...TAMPERS, ["nothing", () => {}] as const]) {
        const task = await submitter.submit(signSpec(deploySpec(`deploy-row-${field}`), "release", privateKey));
        if (field !== "nothing") await tamperStoredSpec(server.db, task.id, tamper);
        ids.set(field, task.id);
      }
      submitter.close();
      // The live supervisor keeps the rows it wrote in memory; after a restart it reads the changed ones.
      await server.restart();
      client = new SupervisorClient({ address: server.address });
      const keyFile = join(server.dir, "release.pub");
      writeFileSync(keyFile, publicPem);
      runner = await startCli(
        [
          "runner",
          "--addr",
          server.address,
          "--name",
          "careful",
          "--label",
          "pool=release",
          "--trusted-key",
          `release=${keyFile}`,
        ],
        /connected/,
      );
    });
    afterAll(async () => {
      client?.close();
      if (runner) await stopChild(runner.child);
      await server?.close();
    });

    it("the untouched row runs", async () => {
      const done = await waitForTask(server.tasks, ids.get("nothing")!);
      expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    });

    it.each(TAMPERS)("a row whose %s was changed fails with SIGNATURE_INVALID and runs nothing", async (field) => {
      const id = ids.get(field)!;
      const done = await waitForTask(server.tasks, id);
      expect([TaskPhase.TASK_PHASE_FAILED, TaskPhase.TASK_PHASE_EXHAUSTED]).toContain(done.status!.phase);
      const runs = await client.listRuns(id);
      expect(runs.length).toBeGreaterThan(0);
      for (const run of runs) expect(run.error).toContain(ErrorReason.SIGNATURE_INVALID);
      await expectError(collectOutput(client, id), status.NOT_FOUND, ErrorReason.OUTPUT_NOT_FOUND);
    });
  });
});

async function collectOutput(client: SupervisorClient, id: string): Promise<void> {
  for await (const _ of client.output(id)) {
    // drain
  }
}
