import type { Metadata, ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Authenticator, Principal } from "../auth.js";
import { type Logger, tooManyStreams } from "../errors.js";
import { isUndecodable, undecodableError } from "./safe-decode.js";
import { toStatus } from "./to-status.js";

export interface GuardSettings {
  auth: Authenticator;
  log: Logger;
  maxStreamsPerClient: number;
  maxRunnersPerClient: number;
  /** For health and reflection: any authenticated caller, whatever its role. */
  anyRole?: boolean;
}

/** Open streams per client name, to bound what one client can hold open. */
class StreamCounter {
  private readonly open = new Map<string, number>();
  acquire(name: string, limit: number, what: string): () => void {
    const count = this.open.get(name) ?? 0;
    if (count >= limit) {
      throw tooManyStreams(name, count, what, limit);
    }
    this.open.set(name, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(name) ?? 1) - 1;
      if (left > 0) this.open.set(name, left);
      else this.open.delete(name);
    };
  }
}

const counters = new WeakMap<Authenticator, { streams: StreamCounter; runners: StreamCounter }>();

/** Who made each admitted call, for handlers that decide by it (runner names bound to tokens). */
const principals = new WeakMap<object, Principal>();
export const principalOf = (call: object): Principal | undefined => principals.get(call);

type AnyCall = {
  request?: unknown;
  metadata: Metadata;
  getPeer(): string;
  once(event: string, listener: () => void): unknown;
  emit(event: "error", status: unknown): boolean;
};

/**
 * Authenticates and authorizes every call of a service before its handler
 * runs, and bounds the streams one client may hold open. Failures go through
 * toStatus like any other error.
 */
export function guarded(
  definition: ServiceDefinition,
  handlers: UntypedServiceImplementation,
  settings: GuardSettings,
): UntypedServiceImplementation {
  const { auth, log } = settings;
  if (!counters.has(auth)) counters.set(auth, { streams: new StreamCounter(), runners: new StreamCounter() });
  const { streams, runners } = counters.get(auth)!;
  const wrapped: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition)) {
    // proto-loader definitions (health, reflection) register handlers under the method's original name.
    const name = handlers[key] ? key : method.originalName;
    const handler = (name ? handlers[name] : undefined) as ((...args: unknown[]) => unknown) | undefined;
    if (!handler || !name) continue;
    const path = method.path.slice(1);
    const admit = (call: AnyCall): Principal => {
      const principal = auth.authenticate(call.metadata, call.getPeer());
      if (!settings.anyRole) auth.authorize(principal, path);
      if (isUndecodable(call.request)) throw undecodableError(call.request);
      principals.set(call, principal);
      return principal;
    };
    if (!method.responseStream && !method.requestStream) {
      wrapped[name] = ((call: AnyCall, callback: (error: unknown) => void) => {
        try {
          admit(call);
        } catch (error) {
          return callback(toStatus(error, log));
        }
        handler(call, callback);
      }) as UntypedHandleCall;
      continue;
    }
    wrapped[name] = ((call: AnyCall) => {
      let release: (() => void) | undefined;
      try {
        const principal = admit(call);
        const counter = method.requestStream ? runners : streams;
        release = counter.acquire(
          principal.name,
          method.requestStream ? settings.maxRunnersPerClient : settings.maxStreamsPerClient,
          method.requestStream ? "runner connections" : "streams",
        );
      } catch (error) {
        call.emit("error", toStatus(error, log));
        return;
      }
      for (const event of ["finish", "cancelled", "error", "close", "end"]) call.once(event, release);
      handler(call);
    }) as UntypedHandleCall;
  }
  return wrapped;
}
