export * from "./types.js";
export * from "./subprocess.js";
export * from "./embedded.js";
export * from "./wasm.js";
// Which executor a task needs, and whether a runner offers it.
export { taskKind, supportsKind } from "../kinds.js";
