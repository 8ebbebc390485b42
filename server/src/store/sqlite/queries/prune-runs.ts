/** Deletes a task's runs up to an attempt (their output goes with them): values task id, attempt. */
export const PRUNE_RUNS = "DELETE FROM runs WHERE task_id = ? AND attempt <= ?";
