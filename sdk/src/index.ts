export * from "./backoff.js";
export * from "./batch-limits.js";
export * from "./call.js";
export * from "./canonical.js";
export * from "./client.js";
export * from "./dispatch.js";
export * from "./duration.js";
export * from "./errors.js";
export * from "./executors/index.js";
export { Duration } from "./gen/google/protobuf/duration.js";
export * from "./gen/supervisor/v1/dispatch_service.js";
export * from "./gen/supervisor/v1/run.js";
// The Runner message is RunnerInfo here: `Runner` is the runner SDK class.
export {
  Runner as RunnerInfo,
  RunnerState,
  runnerStateFromJSON,
  runnerStateToJSON,
} from "./gen/supervisor/v1/runner.js";
export * from "./gen/supervisor/v1/runner_service.js";
export * from "./gen/supervisor/v1/schedule.js";
export * from "./gen/supervisor/v1/schedule_service.js";
export * from "./gen/supervisor/v1/task.js";
export * from "./gen/supervisor/v1/task_service.js";
export * from "./ids.js";
export * from "./informer.js";
export * from "./input.js";
export * from "./json-limits.js";
export * from "./labels.js";
export * from "./reasons.js";
export * from "./retry.js";
export * from "./retry-after.js";
export * from "./roles.js";
export * from "./runner/batch-wire.js";
export * from "./runner/coalescing-writer.js";
export * from "./runner/init-steps.js";
export * from "./runner/log-url.js";
export { parseRetryAfterFile, RETRY_AFTER_FILE_ENV } from "./runner/retry-after-file.js";
export * from "./runner.js";
export * from "./schedules.js";
export * from "./selector/format.js";
export * from "./selector/match.js";
export * from "./selector/parse.js";
export * from "./selector/runner-selector.js";
export * from "./signing.js";
export * from "./spec-defaults.js";
export { container, duration, embedded, type SpecOptions, subprocess, wasm } from "./specs.js";
export type { ListOptions, ListPageOptions, TaskQuery, WatchOptions } from "./task-query.js";
export * from "./timers.js";
export * from "./trace-context.js";
export * from "./uuidv7.js";
