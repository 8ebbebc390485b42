import { type CallOptions, Metadata, type ServiceError, type status } from "@grpc/grpc-js";
import { SupervisorError } from "@supervisor/sdk";
import { expect } from "vitest";

/** The last overload of a generated method: TypeScript infers Req and Res from it. */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a generated grpc-js unary method and returns a promise of its response. */
export function call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), {}, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** Binds a client's method so `call(rpc(client, "getTask"), req)` reads well. */
export function rpc<C extends object, K extends keyof C>(client: C, name: K): C[K] {
  return (client[name] as (...args: unknown[]) => unknown).bind(client) as C[K];
}

/** Asserts the call failed with this gRPC code and ErrorInfo reason; returns the decoded error. */
export async function expectError(promise: Promise<unknown>, code: status, reason: string): Promise<SupervisorError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, "the call should have failed").toBeDefined();
  const decoded = SupervisorError.from(caught);
  expect({ code: decoded.codeName, reason: decoded.reason }).toEqual({
    code: (await import("@grpc/grpc-js")).status[code],
    reason,
  });
  return decoded;
}
