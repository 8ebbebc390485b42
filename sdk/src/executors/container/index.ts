// The container kind: a runtime found by trying (podman, docker, bubblewrap) and its executor.
export { type ContainerExecutorOptions, createContainerExecutor } from "./executor.js";
export { DEFAULT_IMAGE_DIR, ImageError, rootFilesystemOf } from "./rootfs.js";
export {
  type ContainerRuntimeChoice,
  type ContainerRuntimeName,
  detectContainerRuntime,
  RUNTIME_ORDER,
  type RuntimeDetection,
} from "./runtime.js";
