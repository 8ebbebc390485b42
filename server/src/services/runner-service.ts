import type { ServerDuplexStream } from "@grpc/grpc-js";
import {
  CoalescingWriter,
  type ConnectRequest,
  ConnectResponse,
  MAX_BATCH_ITEMS,
  type RunnerInfo as Runner,
  type RunnerServiceServer,
  type Timers,
} from "@supervisor/sdk";
import type { Principal } from "../auth.js";
import { PageBudget } from "../core/page-budget.js";
import { matchesSelector } from "../core/selector.js";
import { compileFilter } from "../core/task-filter.js";
import {
  type Logger,
  leaseExpired,
  protocolViolation,
  runnerNameForbidden,
  runnerReconnected,
  runnerReplaced,
  shuttingDown,
} from "../errors.js";
import type { ExecutionEngine } from "../execution/engine.js";
import type { CloseReason, RunnerChannel, RunnerSession } from "../execution/runner-session.js";
import type { StorageBackend } from "../store/backend.js";
import { validateBatch } from "../validation/batch.js";
import { validateHello } from "../validation/hello.js";
import { decodePageToken, encodePageToken, pageSizeOf } from "../validation/page-token.js";
import { validateFilter, validateRunnerId } from "../validation/requests.js";
import { principalOf } from "./guard.js";
import { unary } from "./handlers.js";
import { isUndecodable, undecodableError } from "./safe-decode.js";
import { toStatus } from "./to-status.js";

export interface RunnerServiceDeps {
  backend: StorageBackend;
  engine: ExecutionEngine;
  log: Logger;
  shutdown: AbortSignal;
  timers: Timers;
  /** How long a new connection has to say hello. */
  helloTimeoutMs?: number;
}

/** What the runner hears when the supervisor ends its stream; RUNNER_REPLACED tells it to stop for good. */
function closeError(reason: CloseReason) {
  switch (reason.kind) {
    case "replaced":
      return runnerReplaced(reason.message);
    case "superseded":
      return runnerReconnected(reason.message);
    case "lease-expired":
      return leaseExpired(reason.message);
    case "shutdown":
      return shuttingDown();
    case "protocol":
      return protocolViolation(reason.message);
  }
}

/** A batch sent to a runner is written at this many bytes (a runner's default receive limit is 4 MiB). */
const MAX_BATCH_BYTES = 1 << 20;

/** Assigns and cancels may share a message (to a runner that accepts batches); welcome, drain and ack go alone. */
const isBatchable = (message: ConnectResponse): boolean => {
  const kind = message.message?.$case;
  return kind === "assign" || kind === "cancel";
};

/** A token bound to runner names (glob patterns in its config entry) connects only runners so named. */
function checkRunnerName(principal: Principal | undefined, name: string): void {
  if (!principal?.runnerNames || principal.matchesRunnerName?.(name)) return;
  throw runnerNameForbidden(principal.name, name, principal.runnerNames);
}

/** RunnerService: the Connect protocol is the engine's; this adapts the stream and checks the hello. */
export function runnerServiceHandlers(deps: RunnerServiceDeps): Partial<RunnerServiceServer> {
  const { backend, engine, log, shutdown } = deps;
  return {
    connect: (call: ServerDuplexStream<ConnectRequest, ConnectResponse>) => {
      let ended = false;
      let session: RunnerSession | undefined;
      let helloing: Promise<void> | undefined;
      /** Set from the hello: whether this runner reads batches. */
      let acceptsBatches = false;
      // What the engine sends in one go (the assigns of one commit) leaves in one message, once this job is done.
      const outbox = new CoalescingWriter<ConnectResponse>({
        // RUNNER_SERVICE_DEFINITION writes a Buffer as the wire bytes it is.
        write: (wire) => {
          if (!ended) call.write(wire as ConnectResponse);
        },
        encode: (message) => ConnectResponse.encode(message).finish(),
        batchable: (message) => acceptsBatches && isBatchable(message),
        schedule: queueMicrotask,
        maxItems: MAX_BATCH_ITEMS,
        maxBytes: MAX_BATCH_BYTES,
      });
      const fail = (error: unknown) => {
        if (ended) return;
        outbox.flush(); // what was sent before the end still goes out before it
        ended = true;
        if (session) engine.disconnected(session, channel);
        const status = toStatus(error, log);
        // Failed while its hello is still being recorded: the hello lets the name go once done (its `if (ended)`),
        // and the runner hears the end only then — else a new process taking the name at once would be refused
        // RUNNER_NAME_IN_USE by a connection that is not there any more.
        if (!session && helloing) void helloing.finally(() => call.emit("error", status));
        else call.emit("error", status);
      };
      const channel: RunnerChannel = {
        peer: call.getPeer(),
        send: (message) => {
          if (!ended) outbox.send(message);
        },
        close: (reason) => fail(closeError(reason)),
      };
      const helloTimer = deps.timers.after(deps.helloTimeoutMs ?? 10_000, () =>
        fail(protocolViolation("no hello within the time allowed")),
      );
      if (shutdown.aborted) return fail(shuttingDown());

      // Messages that arrive after the welcome but before the hello's bookkeeping is committed wait here, in order.
      const backlog: ConnectRequest[] = [];
      const handle = (request: ConnectRequest) => {
        const message = request.message;
        if (message?.$case === "hello") return fail(protocolViolation("hello may only be sent once per connection"));
        if (message?.$case !== "batch") return engine.onMessage(session!, request);
        try {
          validateBatch(message.value);
        } catch (error) {
          return fail(error);
        }
        // Each item as if it had arrived alone: one that ends the stream leaves the rest unread.
        for (const item of message.value.items) {
          if (ended) return;
          engine.onMessage(session!, item);
        }
      };
      call.on("data", (request: ConnectRequest) => {
        if (ended) return;
        if (isUndecodable(request)) return fail(undecodableError(request));
        if (session) return handle(request);
        if (helloing) return void backlog.push(request);
        if (request.message?.$case !== "hello") return fail(protocolViolation("the first message must be hello"));
        const hello = request.message.value;
        acceptsBatches = hello.acceptsBatches;
        helloing = (async () => {
          validateHello(hello);
          checkRunnerName(principalOf(call), hello.name);
          helloTimer.cancel();
          const welcomed = await engine.hello(hello, channel);
          if (ended) return engine.disconnected(welcomed, channel);
          session = welcomed;
          for (const queued of backlog.splice(0)) handle(queued);
        })().catch(fail);
      });
      const onGone = () => {
        helloTimer.cancel();
        if (session) engine.disconnected(session, channel);
        if (ended) return;
        outbox.flush();
        ended = true;
        // Gone while its hello is still being recorded (the welcome went out first): the name is let go only once
        // that is done (`if (ended)` above), so the stream ends, as the runner sees it, only then. Else a new
        // process taking the name at once would be refused RUNNER_NAME_IN_USE by one that is not there.
        if (!session && helloing) void helloing.finally(() => call.end());
        else call.end();
      };
      call.on("end", onGone);
      call.on("cancelled", onGone);
      call.on("error", onGone);
    },

    listRunners: unary(log, shutdown, async (request) => {
      const filter = request.labelSelector
        ? validateFilter(
            { slot: "", phases: [], runnerId: "", labelSelector: request.labelSelector, idPrefix: "", parentId: "" },
            "",
          )
        : compileFilter(undefined);
      const pageSize = pageSizeOf(request.pageSize);
      const after = decodePageToken(request.pageToken, filter.key) ?? "";
      const runners: Runner[] = [];
      const budget = new PageBudget(pageSize);
      let cursor = after;
      let more = false;
      // Scan by name until the page is full; the selector is applied here (runner counts are small).
      scan: for (;;) {
        const rows = await backend.listRunners(cursor, pageSize + 1);
        for (const row of rows) {
          cursor = row.runner.name;
          const runner = engine.liveRunner(row.runner.id) ?? row.runner;
          if (filter.selector && !matchesSelector(filter.selector, runner.labels)) continue;
          // The stored bytes stand in for the live runner's size (they differ only in counters).
          if (!budget.take(row.encodedBytes)) {
            more = true;
            break scan;
          }
          runners.push(runner);
        }
        if (rows.length < pageSize + 1) break;
      }
      return { runners, nextPageToken: more ? encodePageToken(runners.at(-1)!.name, filter.key) : "" };
    }),

    drainRunner: unary(log, shutdown, async (request) => {
      return { runner: await engine.drain(validateRunnerId(request.runnerId, "runner_id")) };
    }),

    undrainRunner: unary(log, shutdown, async (request) => {
      return { runner: await engine.undrain(validateRunnerId(request.runnerId, "runner_id")) };
    }),

    deleteRunner: unary(log, shutdown, async (request) => {
      return { runner: await engine.forget(validateRunnerId(request.runnerId, "runner_id")) };
    }),
  };
}
