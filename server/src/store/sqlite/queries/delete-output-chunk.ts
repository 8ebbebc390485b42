/** Drops one stored chunk (the oldest of the kept tail, when the cap is reached): values run id, seq. */
export const DELETE_OUTPUT_CHUNK = "DELETE FROM output_chunks WHERE run_id = ? AND seq = ?";
