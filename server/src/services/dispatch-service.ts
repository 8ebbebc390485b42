import type { DispatchServiceServer } from "@supervisor/sdk";
import type { Logger } from "../errors.js";
import type { DispatchPauses } from "../pauses/dispatch-pauses.js";
import { unary } from "./handlers.js";

export interface DispatchServiceDeps {
  pauses: DispatchPauses;
  log: Logger;
  shutdown: AbortSignal;
}

/** DispatchService: thin — every decision is in DispatchPauses. */
export function dispatchServiceHandlers(deps: DispatchServiceDeps): DispatchServiceServer {
  const { pauses, log, shutdown } = deps;
  return {
    pauseDispatch: unary(log, shutdown, async (request) => ({ pause: await pauses.pause(request.pause) })),
    resumeDispatch: unary(log, shutdown, async (request) => ({ pause: await pauses.resume(request.id) })),
    listDispatchPauses: unary(log, shutdown, async () => ({ pauses: await pauses.list() })),
  };
}
