import { readFileSync } from "node:fs";
import { createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { DESCRIPTOR_SET_PATH } from "../reflection.js";

let registry: FileRegistry | undefined;

/**
 * Every type the server serves, from the descriptor set reflection serves too (`npm run gen`): the
 * HTTP rules, the request and response messages and the error details the JSON mapping needs.
 * Read once per process.
 */
export function protoRegistry(): FileRegistry {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET_PATH)));
  return registry;
}
