import { readFileSync } from "node:fs";
import { createFileRegistry, type DescMessage, fromBinary, type JsonValue, toJson } from "@bufbuild/protobuf";
import type { BinaryWriter } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

/**
 * Canonical proto3 JSON (the mapping buf curl and grpcurl print: int64 as
 * strings, Duration "5s", Timestamp RFC 3339, enums by name), produced from
 * a copy of the descriptor set the server serves by reflection (`npm run
 * gen` writes both). ts-proto's own
 * toJSON does not follow the mapping for well-known types.
 */
const DESCRIPTOR_SET_PATH = new URL("../gen/supervisor.binpb", import.meta.url);
let registry: ReturnType<typeof createFileRegistry> | undefined;

function messageType(typeName: string): DescMessage {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET_PATH)));
  const desc = registry.getMessage(typeName);
  if (!desc) throw new Error(`unknown message type ${typeName}`);
  return desc;
}

/** `encode` is a ts-proto `Message.encode`; `typeName` its full proto name. */
export function protoJson<T>(typeName: string, encode: (message: T) => BinaryWriter, message: T): JsonValue {
  const desc = messageType(typeName);
  return toJson(desc, fromBinary(desc, encode(message).finish()), { registry });
}
