import { readFileSync } from "node:fs";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import type { Server } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

/**
 * The descriptor set built by `npm run gen` (`buf build -o`), imports
 * included: proto/ plus the health.proto and reflection.proto files that
 * grpc-health-check and @grpc/reflection serve their services from, so every
 * served service and every error-detail type resolves. Resolved from the
 * module so it works from src/ (tests) and dist/.
 */
export const DESCRIPTOR_SET_PATH = new URL("../gen/supervisor.binpb", import.meta.url);

/**
 * Splits a FileDescriptorSet (`repeated FileDescriptorProto file = 1`) into
 * the raw bytes of each file without decoding them.
 */
export function splitDescriptorSet(bytes: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(bytes);
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1) files.push(reader.bytes());
    else reader.skip(wireType);
  }
  return files;
}

/**
 * Serves reflection v1 and v1alpha from the real descriptors. We do not feed
 * it a proto-loader package definition: that drops import lists and
 * well-known-type files, and grpcurl/buf curl then fail to resolve any method
 * that uses Timestamp or Duration (grpc-node #2958).
 */
export function addReflection(server: Pick<Server, "addService">): void {
  const fileDescriptorProtos = splitDescriptorSet(readFileSync(DESCRIPTOR_SET_PATH));
  const definition = { "supervisor.v1": { fileDescriptorProtos } } as unknown as PackageDefinition;
  new ReflectionService(definition).addToServer(server);
}
