import { ServerInterceptingCall, type ServerInterceptor, status } from "@grpc/grpc-js";
import { Counter, Histogram, type Registry } from "prom-client";

const CODE_NAMES = Object.fromEntries(
  Object.entries(status)
    .filter(([, value]) => typeof value === "number")
    .map(([name, value]) => [value as number, name]),
) as Record<number, string>;

const HANDLING_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300];

const grpcType = (requestStream: boolean, responseStream: boolean) =>
  requestStream ? (responseStream ? "bidi_stream" : "client_stream") : responseStream ? "server_stream" : "unary";

/** One RPC being counted: `end` with its status code (once; later calls do nothing). */
export type RpcMeter = (path: string, requestStream: boolean, responseStream: boolean) => (code: number) => void;

/**
 * Per-RPC metrics with the names and labels of the gRPC server-metric conventions (go-grpc-prometheus):
 * started, handled by code, handling time. A stream is handled when it ends (with its status, or
 * CANCELLED when the client goes away first), so its handling time is how long it was open. Calls of
 * the HTTP/JSON API count as the RPCs they are transcoded to (the same handlers answer them).
 */
export function rpcMeter(registry: Registry): RpcMeter {
  const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
  const started = new Counter({
    name: "grpc_server_started_total",
    help: "RPCs started on the server.",
    labelNames,
    registers: [registry],
  });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, by status code.",
    labelNames: [...labelNames, "grpc_code"] as const,
    registers: [registry],
  });
  const handling = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from an RPC's start to its status sent (streams: how long they were open).",
    labelNames,
    buckets: HANDLING_BUCKETS,
    registers: [registry],
  });
  return (path, requestStream, responseStream) => {
    const slash = path.lastIndexOf("/");
    const labels = {
      grpc_type: grpcType(requestStream, responseStream),
      grpc_service: path.slice(1, slash),
      grpc_method: path.slice(slash + 1),
    };
    started.inc(labels);
    const startedAt = performance.now();
    let ended = false;
    return (code) => {
      if (ended) return;
      ended = true;
      handled.inc({ ...labels, grpc_code: CODE_NAMES[code] ?? String(code) });
      handling.observe(labels, (performance.now() - startedAt) / 1000);
    };
  };
}

/** The gRPC server's calls counted by `meter`. */
export function grpcMetricsInterceptor(meter: RpcMeter): ServerInterceptor {
  return (method, call) => {
    const end = meter(method.path, method.requestStream, method.responseStream);
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => end(status.CANCELLED) }),
      sendStatus: (sent, next) => {
        end(sent.code);
        next(sent);
      },
    });
  };
}
