/** Forgets a runner's row by id; its runs keep its id and name. */
export const DELETE_RUNNER = "DELETE FROM runners WHERE id = ?";
