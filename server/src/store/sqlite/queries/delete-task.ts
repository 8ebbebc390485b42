/** Deletes a task by id; its runs and output go with it (ON DELETE CASCADE). */
export const DELETE_TASK = "DELETE FROM tasks WHERE id = ?";
