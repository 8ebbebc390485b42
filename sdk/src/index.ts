export * as gen from "./gen/supervisor/v1/task.js";
