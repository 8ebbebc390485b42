import type { MethodDefinition, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";

export interface ServedMethod {
  definition: MethodDefinition<unknown, unknown>;
  /** The implementation grpc-js was given: auth, role checks, safe decoding and stream limits included. */
  handler: (...args: never[]) => void;
}

/**
 * The methods the gRPC server serves, each as registered with it (definition and guarded handler),
 * by path ("supervisor.v1.TaskService/GetTask"). The HTTP API calls these very functions, so a
 * request over HTTP meets the same checks and the same code as one over gRPC.
 */
export class ServedMethods {
  private readonly methods = new Map<string, ServedMethod>();

  add(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    for (const [key, method] of Object.entries(definition)) {
      const handler = implementation[key] ?? (method.originalName ? implementation[method.originalName] : undefined);
      if (handler)
        this.methods.set(method.path.slice(1), { definition: method, handler: handler as ServedMethod["handler"] });
    }
  }

  get(rpc: string): ServedMethod | undefined {
    return this.methods.get(rpc);
  }
}
