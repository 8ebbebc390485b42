import type { ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import { type Logger, notImplemented } from "../errors.js";
import { toStatus } from "./to-status.js";

/**
 * Fills every method of `definition` that `handlers` lacks with one that
 * answers UNIMPLEMENTED plus an ErrorInfo (reason NOT_IMPLEMENTED), so
 * clients get a precise error rather than a bare status or fake data.
 */
export function withUnimplemented(
  definition: ServiceDefinition,
  handlers: Partial<UntypedServiceImplementation>,
  log: Logger,
): UntypedServiceImplementation {
  const complete: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition)) {
    const existing = handlers[key];
    if (existing) {
      complete[key] = existing;
      continue;
    }
    const error = () => toStatus(notImplemented(method.path.slice(1)), log);
    const streaming = (call: { emit(event: "error", status: unknown): void }) => call.emit("error", error());
    const unaryResponse = (_call: unknown, callback: (status: unknown) => void) => callback(error());
    complete[key] = (method.responseStream ? streaming : unaryResponse) as UntypedHandleCall;
  }
  return complete;
}
