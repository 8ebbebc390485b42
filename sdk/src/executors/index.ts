// Which executor a task needs, and whether a runner offers it.
export { routingKind, supportsKind, taskKind } from "../kinds.js";
export * from "./container/index.js";
export * from "./embedded.js";
export * from "./subprocess.js";
export * from "./types.js";
export * from "./wasm.js";
