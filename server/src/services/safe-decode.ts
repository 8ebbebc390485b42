import type { ServiceDefinition } from "@grpc/grpc-js";
import { invalidArgument } from "../errors.js";

/** Marks a request body that did not decode; handlers see it instead of grpc-js failing the call. */
export const UNDECODABLE = Symbol("undecodable");

export interface Undecodable {
  [UNDECODABLE]: string;
}

export const isUndecodable = (value: unknown): value is Undecodable =>
  typeof value === "object" && value !== null && UNDECODABLE in value;

/** The error an undecodable body earns: INVALID_ARGUMENT with ErrorInfo, like any other bad input. */
export const undecodableError = (value: Undecodable) =>
  invalidArgument([{ field: "(request body)", description: `not a valid message: ${value[UNDECODABLE]}` }]);

/**
 * The service with request deserializers that never throw. grpc-js answers a
 * body it cannot decode with a bare INTERNAL (no ErrorInfo), and on a
 * bidirectional stream with writes queued that status may never reach the
 * client; as a marked value, the body goes through our own error path.
 */
export function withSafeDecoding<D extends ServiceDefinition>(definition: D): D {
  const safe: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    safe[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (error) {
          return { [UNDECODABLE]: error instanceof Error ? error.message : String(error) } satisfies Undecodable;
        }
      },
    };
  }
  return safe as D;
}
