import { type Task, TaskFilter, type TaskServiceClient } from "@supervisor/sdk";
import { call, rpc } from "./grpc.js";

/** Every task a ListTasks with `filter` returns, following next_page_token to the end (pages of 1000). */
export async function listAllTasks(client: TaskServiceClient, filter: Partial<TaskFilter> = {}): Promise<Task[]> {
  const all: Task[] = [];
  let pageToken = "";
  do {
    const page = await call(rpc(client, "listTasks"), {
      pageSize: 1000,
      pageToken,
      filter: TaskFilter.fromPartial(filter),
    });
    all.push(...page.tasks);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}

/** The tasks a schedule fired (its label), in no particular order. */
export const scheduleTasks = (client: TaskServiceClient, scheduleId: string): Promise<Task[]> =>
  listAllTasks(client, { labelSelector: `supervisor.dev/schedule=${scheduleId}` });
