// One UUIDv7 generator for task and run ids here and for the SDK's request ids (sdk/src/uuidv7.ts).
export { IdGenerator, UUID_PATTERN } from "@supervisor/sdk";
