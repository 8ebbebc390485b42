export * from "./types.js";
export * from "./subprocess.js";
export * from "./embedded.js";
export * from "./wasm.js";
export { taskKind, supportsKind } from "../kinds.js";
