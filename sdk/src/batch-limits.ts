/**
 * What one BatchSubmitTasks may carry; the server refuses a larger batch as a
 * whole (INVALID_ARGUMENT on `requests`). The byte bound is on the encoded
 * request: the answer adds each task's status, and must fit the 4 MiB any
 * gRPC client accepts by default.
 */
export const MAX_BATCH_REQUESTS = 1000;
export const MAX_BATCH_BYTES = 3 * 1024 * 1024;
