import { type ServerDuplexStream, status } from "@grpc/grpc-js";
import {
  type ConnectRequest,
  type ConnectResponse,
  ErrorReason,
  type RunnerInfo as Runner,
  type RunnerServiceServer,
} from "@supervisor/sdk";
import { PageBudget } from "../core/page-budget.js";
import { matchesSelector } from "../core/selector.js";
import { compileFilter } from "../core/task-filter.js";
import { listRunners } from "../db/queries/list-runners.js";
import { decodeRunner } from "../db/queries/runner-rows.js";
import { DomainError, type Logger, toStatus } from "../errors.js";
import type { ExecutionEngine } from "../execution/engine.js";
import type { RunnerChannel, RunnerSession } from "../execution/runner-session.js";
import type { TaskStore } from "../store/task-store.js";
import { validateHello } from "../validation/hello.js";
import { decodePageToken, encodePageToken, pageSizeOf } from "../validation/page-token.js";
import { validateFilter, validateRunnerId } from "../validation/requests.js";
import { unary } from "./handlers.js";
import { isUndecodable, undecodableError } from "./safe-decode.js";

export interface RunnerServiceDeps {
  store: TaskStore;
  engine: ExecutionEngine;
  log: Logger;
  shutdown: AbortSignal;
  /** How long a new connection has to say hello. */
  helloTimeoutMs?: number;
}

const protocolViolation = (message: string) =>
  new DomainError(status.FAILED_PRECONDITION, ErrorReason.RUNNER_PROTOCOL_VIOLATION, message);

/** RunnerService: the Connect protocol is the engine's; this adapts the stream and checks the hello. */
export function runnerServiceHandlers(deps: RunnerServiceDeps): Partial<RunnerServiceServer> {
  const { store, engine, log, shutdown } = deps;
  return {
    connect: (call: ServerDuplexStream<ConnectRequest, ConnectResponse>) => {
      let ended = false;
      let session: RunnerSession | undefined;
      let helloing: Promise<void> | undefined;
      const fail = (error: unknown) => {
        if (ended) return;
        ended = true;
        if (session) engine.disconnected(session, channel);
        call.emit("error", toStatus(error, log));
      };
      const channel: RunnerChannel = {
        send: (message) => {
          if (!ended) call.write(message);
        },
        close: (reason) => {
          const replaced = reason.startsWith("replaced");
          fail(
            replaced
              ? new DomainError(status.ABORTED, ErrorReason.RUNNER_REPLACED, reason)
              : new DomainError(
                  status.UNAVAILABLE,
                  reason.startsWith("lease") ? ErrorReason.LEASE_EXPIRED : ErrorReason.SHUTTING_DOWN,
                  reason,
                ),
          );
        },
      };
      const helloTimer = setTimeout(
        () => fail(protocolViolation("no hello within the time allowed")),
        deps.helloTimeoutMs ?? 10_000,
      );
      if (shutdown.aborted)
        return fail(new DomainError(status.UNAVAILABLE, ErrorReason.SHUTTING_DOWN, "the supervisor is shutting down"));

      // Messages that arrive after the welcome but before the hello's bookkeeping is committed wait here, in order.
      const backlog: ConnectRequest[] = [];
      const handle = (request: ConnectRequest) => {
        if (request.message?.$case === "hello")
          return fail(protocolViolation("hello may only be sent once per connection"));
        engine
          .onMessage(session!, request)
          .catch((error: unknown) => log(`runner ${session?.name}: handling a message failed`, error));
      };
      call.on("data", (request: ConnectRequest) => {
        if (ended) return;
        if (isUndecodable(request)) return fail(undecodableError(request));
        if (session) return handle(request);
        if (helloing) return void backlog.push(request);
        if (request.message?.$case !== "hello") return fail(protocolViolation("the first message must be hello"));
        const hello = request.message.value;
        helloing = (async () => {
          validateHello(hello);
          clearTimeout(helloTimer);
          const welcomed = await engine.hello(hello, channel);
          if (ended) return engine.disconnected(welcomed, channel);
          session = welcomed;
          for (const queued of backlog.splice(0)) handle(queued);
        })().catch(fail);
      });
      const onGone = () => {
        clearTimeout(helloTimer);
        if (session) engine.disconnected(session, channel);
        if (!ended) {
          ended = true;
          call.end();
        }
      };
      call.on("end", onGone);
      call.on("cancelled", onGone);
      call.on("error", onGone);
    },

    listRunners: unary(log, shutdown, (request) => {
      const filter = request.labelSelector
        ? validateFilter({ slot: "", phases: [], runnerId: "", labelSelector: request.labelSelector }, "")
        : compileFilter(undefined);
      const pageSize = pageSizeOf(request.pageSize);
      const after = decodePageToken(request.pageToken, filter.key) ?? "";
      const runners: Runner[] = [];
      const budget = new PageBudget(pageSize);
      let cursor = after;
      let more = false;
      // Scan by name until the page is full; the selector is applied here (runner counts are small).
      scan: for (;;) {
        const rows = listRunners(store.db, cursor, pageSize + 1);
        for (const row of rows) {
          cursor = row.name;
          const runner = engine.liveRunner(row.id) ?? decodeRunner(row.runner);
          if (filter.selector && !matchesSelector(filter.selector, runner.labels)) continue;
          // The stored bytes stand in for the live runner's size (they differ only in counters).
          if (!budget.take(row.runner.length)) {
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
  };
}
