import { createRequire } from "node:module";
import { createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { credentials, loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

/** The two reflection protocols the server serves; clients try v1 first, then v1alpha. */
export type ReflectionVersion = "v1" | "v1alpha";

/** One `ServerReflectionRequest` (its oneof), in proto-loader's object form. */
export type ReflectionRequest =
  | { listServices: string }
  | { fileContainingSymbol: string }
  | { fileByFilename: string };

export interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

const require = createRequire(import.meta.url);

// A plain grpc-js client of the reflection protocol, built from the same reflection.proto
// files @grpc/reflection registers on the server (it exports no path, hence the resolve).
function reflectionClient(address: string, version: ReflectionVersion) {
  const protoPath = require.resolve(`@grpc/reflection/build/proto/grpc/reflection/${version}/reflection.proto`);
  const pkg = loadPackageDefinition(loadSync(protoPath)) as any;
  return new pkg.grpc.reflection[version].ServerReflection(address, credentials.createInsecure());
}

/** Sends the requests on one ServerReflectionInfo stream and returns the answers in order. */
export async function reflect(
  address: string,
  version: ReflectionVersion,
  requests: ReflectionRequest[],
): Promise<ReflectionResponse[]> {
  const client = reflectionClient(address, version);
  try {
    return await new Promise<ReflectionResponse[]>((resolve, reject) => {
      const responses: ReflectionResponse[] = [];
      const stream = client.serverReflectionInfo();
      stream.on("data", (response: ReflectionResponse) => responses.push(response));
      stream.on("error", reject);
      stream.on("end", () => resolve(responses));
      for (const request of requests) stream.write(request);
      stream.end();
    });
  } finally {
    client.close();
  }
}

/** The service names ListServices returns. */
export async function listServices(address: string, version: ReflectionVersion): Promise<string[]> {
  const [response] = await reflect(address, version, [{ listServices: "" }]);
  return (response?.listServicesResponse?.service ?? []).map((service) => service.name);
}

/**
 * What grpcurl does with nothing but reflection: ask file_containing_symbol for each
 * symbol and build a registry from the answers alone. Each answer must carry the file
 * and all its imports (as the reflection spec asks), so no second round-trip is made:
 * `createFileRegistry` throws if any import is missing, and an unknown symbol throws.
 */
export async function registryFromReflection(
  address: string,
  version: ReflectionVersion,
  symbols: string[],
): Promise<FileRegistry> {
  const responses = await reflect(
    address,
    version,
    symbols.map((symbol) => ({ fileContainingSymbol: symbol })),
  );
  const registries = responses.map((response, i) => {
    if (response.errorResponse) {
      throw new Error(`reflection ${version} cannot resolve ${symbols[i]}: ${response.errorResponse.errorMessage}`);
    }
    const files = new Map<string, FileDescriptorProto>();
    for (const bytes of response.fileDescriptorResponse?.fileDescriptorProto ?? []) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      files.set(file.name, file);
    }
    // Every file of one answer must find its imports in that same answer.
    return createFileRegistry(
      ...[...files.values()].map((file) => createFileRegistry(file, (name) => files.get(name))),
    );
  });
  return createFileRegistry(...registries);
}
