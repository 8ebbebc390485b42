import { rmSync } from "node:fs";
import { join } from "node:path";
import type {
  ConnectResponse_Assign as Assign,
  ConnectResponse_Cancel as Cancel,
  ConnectRequest,
  ConnectResponse,
  ConnectRequest_Hello as Hello,
  Run,
  RunOutcome,
  Task,
  TaskSpec,
} from "@supervisor/sdk";
import { loadConfig } from "../../server/src/config.js";
import { IdGenerator } from "../../server/src/core/ids.js";
import { specHash } from "../../server/src/core/task-spec.js";
import { storeUnavailable } from "../../server/src/errors.js";
import { type EngineSettings, ExecutionEngine } from "../../server/src/execution/engine.js";
import type { CloseReason, RunnerChannel, RunnerSession } from "../../server/src/execution/runner-session.js";
import { silentLogger } from "../../server/src/log.js";
import type { StorageBackend, WriteSet } from "../../server/src/store/backend.js";
import { GroupCommit } from "../../server/src/store/group-commit.js";
import { SqliteBackend } from "../../server/src/store/sqlite/backend.js";
import { submitWrite } from "../../server/src/store/writes.js";
import { validateSubmit } from "../../server/src/validation/requests.js";
import { FakeClock } from "./fake-clock.js";
import { hello } from "./raw-runner.js";
import { tempDir } from "./server.js";
import { subprocessSpec } from "./specs.js";

/** The server's defaults for the engine (15 s lease, 5 s heartbeats, 10 s cancel grace). */
export const ENGINE_DEFAULTS: EngineSettings = {
  heartbeatIntervalMs: 5_000,
  leaseTtlMs: 15_000,
  cancelGracePeriodMs: 10_000,
  outputCapBytes: 1 << 20,
  minRestartDelayMs: 100,
  runHistoryLimit: 100,
};

const SUBMIT_SETTINGS = { slotQueueLimit: 1000, idempotencyTtlMs: 86_400_000 };

/** How many settles `until` allows an event to take: a bound, never a timing. */
const MAX_SETTLES = 50;

/**
 * A runner played by the test, on the engine's side of the stream: what the engine sends is
 * recorded, and a close ends the stream the way the runner service does (the engine hears the
 * disconnect). Reports go straight to `engine.onMessage`, as the service hands them over.
 */
export class FakeRunner implements RunnerChannel {
  readonly peer = "fake-runner";
  readonly sent: ConnectResponse[] = [];
  closed: CloseReason | undefined;
  session: RunnerSession | undefined;
  /** Assigns the test has taken with `nextAssign`. */
  assignsTaken = 0;

  constructor(private readonly engine: () => ExecutionEngine) {}

  send(message: ConnectResponse): void {
    if (!this.closed) this.sent.push(message);
  }

  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = reason;
    if (this.session) this.engine().disconnected(this.session, this);
  }

  get assigns(): Assign[] {
    return this.sent.flatMap((m) => (m.message?.$case === "assign" ? [m.message.value] : []));
  }

  get cancels(): Cancel[] {
    return this.sent.flatMap((m) => (m.message?.$case === "cancel" ? [m.message.value] : []));
  }

  say(message: ConnectRequest["message"]): void {
    if (this.closed) throw new Error("the stream is closed: the runner cannot send");
    this.engine().onMessage(this.session!, { message });
  }

  heartbeat(): void {
    this.say({ $case: "heartbeat", value: {} });
  }

  started(runId: string): void {
    this.say({ $case: "runStarted", value: { runId } });
  }

  finished(runId: string, outcome: RunOutcome, exitCode = 0): void {
    this.say({ $case: "runFinished", value: { runId, outcome, exitCode, error: "", outputBytes: 0 } });
  }
}

/**
 * An ExecutionEngine wired as `startServer` wires it — a real SQLite file, the group commit, the
 * id generator — but on a FakeClock and without gRPC: runners are FakeRunners, tasks are submitted
 * through the group commit. Time moves only when the test moves `clock`.
 *
 * SQLite in both projects (vitest.config.ts), on purpose: the fake clock settles by macrotask turns,
 * which finish a better-sqlite3 commit but not a round trip to PostgreSQL, so on PostgreSQL a settle
 * would race the network. What is tested here is the engine's time rules, the same on either backend;
 * the backends are held to one contract by test/conformance/, and the server's behaviour on
 * PostgreSQL by every end-to-end test in the postgres project.
 */
export class EngineHarness {
  engine!: ExecutionEngine;
  backend!: StorageBackend;
  commits!: GroupCommit;
  ids!: IdGenerator;
  readonly runners: FakeRunner[] = [];
  /** While set, a transaction whose writes it accepts fails before anything is written (a disk that refuses). */
  commitFault: ((writes: WriteSet) => boolean) | undefined;
  /**
   * While this says so of a batch, its commit goes through but the engine hears STORE_UNAVAILABLE (or, with
   * "refused", the store refuses it unwritten with STORE_UNAVAILABLE): what a PostgreSQL restart does.
   */
  storeUnavailable: ((writes: WriteSet) => "committed" | "refused" | undefined) | undefined;

  private constructor(
    readonly clock: FakeClock,
    readonly settings: EngineSettings,
    private readonly dir: string,
    private readonly random: () => number,
    private readonly wrap: (backend: StorageBackend) => StorageBackend,
  ) {}

  /** `wrap` stands between the engine and the real backend: to make it fail, or to watch it. */
  static async start(
    settings: Partial<EngineSettings> = {},
    random: () => number = () => 0.5,
    clock = new FakeClock(),
    wrap: (backend: StorageBackend) => StorageBackend = (backend) => backend,
  ): Promise<EngineHarness> {
    const harness = new EngineHarness(clock, { ...ENGINE_DEFAULTS, ...settings }, tempDir(), random, wrap);
    await harness.open();
    return harness;
  }

  /** Stops the engine and closes the store, then opens both again over the same file (the clock runs on). */
  async restart(): Promise<void> {
    await this.stop();
    await this.open();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Submits a subprocess task with these spec fields, defaults applied as the service applies them. */
  async submit(overrides: Partial<TaskSpec> = {}): Promise<Task> {
    const { spec, requestId } = validateSubmit({ spec: subprocessSpec("true", [], overrides), requestId: "" });
    const params = { spec, requestId, specHash: specHash(spec), id: this.ids.next() };
    return this.commits.run(submitWrite(params, SUBMIT_SETTINGS));
  }

  async task(id: string): Promise<Task> {
    const stored = await this.backend.getTask(id);
    if (!stored) throw new Error(`task ${id} is not stored`);
    return stored.task;
  }

  async run(id: string): Promise<Run> {
    const run = await this.backend.getRun(id);
    if (!run) throw new Error(`run ${id} is not stored`);
    return run;
  }

  /** A runner says hello, as the runner service hands it over; the engine has welcomed it on return. */
  async connect(name: string, partial: Partial<Hello> = {}): Promise<FakeRunner> {
    const runner = new FakeRunner(() => this.engine);
    const message = hello(name, partial);
    if (message?.$case !== "hello") throw new Error("unreachable");
    runner.session = await this.engine.hello(message.value, runner);
    this.runners.push(runner);
    return runner;
  }

  /**
   * Settles until `condition` holds, the fake time standing still: for what follows an event
   * without any time passing (a dispatch after a submit, a commit after a report). Fails after
   * MAX_SETTLES settles.
   */
  async until<T>(condition: () => T | Promise<T>, what: string): Promise<NonNullable<T>> {
    for (let settle = 0; settle < MAX_SETTLES; settle++) {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      await this.clock.advanceAsync(0);
    }
    throw new Error(`${what}: not after ${MAX_SETTLES} settles at ${this.clock.now()}`);
  }

  /** The first assign to `runner` the test has not taken yet, once it is sent (without time passing). */
  async nextAssign(runner: FakeRunner): Promise<Assign> {
    const assign = await this.until(() => runner.assigns[runner.assignsTaken], `an assign for ${runner.session?.name}`);
    runner.assignsTaken++;
    return assign;
  }

  /**
   * A dispatch pass now, as any trigger (a submit, a runner with room) would start one: "not
   * before" holds only if a pass a millisecond early dispatches nothing.
   */
  async dispatchPass(): Promise<void> {
    this.engine.dispatcher.schedule();
    await this.clock.advanceAsync(0);
  }

  /** Time passes by `ms` while the runners heartbeat every heartbeat interval (from the start of the move). */
  async advanceHeartbeating(ms: number, runners: readonly FakeRunner[] = this.runners): Promise<void> {
    const endMs = this.clock.now() + ms;
    while (this.clock.now() < endMs) {
      await this.clock.advanceToAsync(Math.min(endMs, this.clock.now() + this.settings.heartbeatIntervalMs));
      for (const runner of runners) if (!runner.closed) runner.heartbeat();
    }
  }

  private async open(): Promise<void> {
    const { clock } = this;
    const config = loadConfig({ flags: { db: join(this.dir, "supervisor.db"), synchronous: "NORMAL" } });
    // Writes on the event loop: settle() counts macrotask turns, and a writer thread answers in real time.
    this.backend = this.wrap(
      SqliteBackend.open(config.db, { synchronous: config.synchronous, writer: "event-loop" }, clock),
    );
    this.commits = new GroupCommit(this.faulty(this.backend), clock);
    this.ids = new IdGenerator(() => clock.now(), await this.backend.newestTaskId());
    const deps = { backend: this.backend, commits: this.commits, ids: this.ids, clock, timers: clock };
    this.engine = new ExecutionEngine({ ...deps, log: silentLogger, random: this.random }, this.settings);
    await this.engine.start();
  }

  /** The backend as the engine's writes see it: transactions fail while commitFault says so. */
  private faulty(backend: StorageBackend): StorageBackend {
    const transact: StorageBackend["transact"] = async (work) => {
      let lost = false;
      const result = await backend.transact(async (tx) => {
        const plan = await work(tx);
        if (this.commitFault?.(plan.writes)) throw new Error("SQLITE_IOERR: disk I/O error (commitFault)");
        const unavailable = this.storeUnavailable?.(plan.writes);
        if (unavailable === "refused") throw storeUnavailable("ECONNREFUSED (storeUnavailable)");
        lost = unavailable === "committed";
        return plan;
      });
      if (lost) throw storeUnavailable("connection lost after COMMIT (storeUnavailable)");
      return result;
    };
    return new Proxy(backend, { get: (target, key) => (key === "transact" ? transact : Reflect.get(target, key)) });
  }

  private async stop(): Promise<void> {
    this.engine.stop();
    await this.clock.settle(); // the reports in flight commit (or give up) before the store closes
    await this.backend.close();
    this.runners.length = 0;
  }
}
