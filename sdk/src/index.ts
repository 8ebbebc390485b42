export * from "./reasons.js";
export * from "./errors.js";
export * from "./gen/supervisor/v1/task.js";
export * from "./gen/supervisor/v1/run.js";
export * from "./gen/supervisor/v1/runner.js";
export * from "./gen/supervisor/v1/task_service.js";
export * from "./gen/supervisor/v1/runner_service.js";
export { Duration } from "./gen/google/protobuf/duration.js";
export * from "./kinds.js";
