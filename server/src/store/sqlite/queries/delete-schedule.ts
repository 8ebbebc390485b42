export const DELETE_SCHEDULE = "DELETE FROM schedules WHERE id = ?";
