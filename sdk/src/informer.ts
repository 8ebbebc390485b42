import type { SupervisorClient } from "./client.js";
import { SupervisorError } from "./errors.js";
import type { Task } from "./gen/supervisor/v1/task.js";
import { EventType } from "./gen/supervisor/v1/task_service.js";
import type { TaskFilterInput } from "./input.js";
import { ErrorReason } from "./reasons.js";
import { queryOptions, type TaskQuery } from "./task-query.js";

export interface InformerHandlers {
  onAdd?(task: Task): void;
  onUpdate?(task: Task, previous: Task): void;
  onDelete?(task: Task): void;
  /** A failure that stopped the informer (it does not retry non-transient errors). */
  onError?(error: SupervisorError): void;
}

/** `{ filter, signal, onAdd, onUpdate, onDelete, onError }`: an aborted signal stops the informer. */
export interface InformerOptions extends TaskQuery, InformerHandlers {}

/**
 * A local, always-current map of the tasks matching a filter: list, then
 * watch, resuming after dropped streams; on REVISION_COMPACTED it lists again
 * and reconciles (tasks gone meanwhile are reported deleted).
 */
export class Informer {
  readonly tasks = new Map<string, Task>();
  /** Resolves once the initial list is in the map. */
  readonly synced: Promise<void>;
  private readonly controller = new AbortController();
  private markSynced!: () => void;
  private readonly done: Promise<void>;
  private readonly filter: TaskFilterInput;
  private readonly handlers: InformerHandlers;

  constructor(client: SupervisorClient, options?: InformerOptions);
  /** @deprecated The 0.1 shape; use `new Informer(client, { filter, onAdd, ... })`. Removed in the next release. */
  constructor(client: SupervisorClient, filter: TaskFilterInput, handlers?: InformerHandlers);
  constructor(
    private readonly client: SupervisorClient,
    first: InformerOptions | TaskFilterInput = {},
    legacyHandlers?: InformerHandlers,
  ) {
    const { filter = {}, signal, ...handlers } = queryOptions<InformerOptions>(first, legacyHandlers);
    this.filter = filter;
    this.handlers = handlers;
    if (signal?.aborted) this.controller.abort();
    else signal?.addEventListener("abort", () => this.controller.abort(), { once: true });
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }

  private upsert(task: Task): void {
    const previous = this.tasks.get(task.id);
    if (previous && previous.revision >= task.revision) return;
    this.tasks.set(task.id, task);
    if (previous) this.handlers.onUpdate?.(task, previous);
    else this.handlers.onAdd?.(task);
  }

  private remove(task: Task): void {
    if (!this.tasks.delete(task.id)) return;
    this.handlers.onDelete?.(task);
  }

  private async run(): Promise<void> {
    while (!this.controller.signal.aborted) {
      const listed = new Set<string>();
      let listing = true;
      try {
        for await (const event of this.client.watch({
          sendInitial: true,
          filter: this.filter,
          signal: this.controller.signal,
        })) {
          if (event.type === EventType.EVENT_TYPE_BOOKMARK) {
            if (listing) {
              listing = false;
              for (const task of [...this.tasks.values()]) if (!listed.has(task.id)) this.remove(task);
              this.markSynced();
            }
            continue;
          }
          if (listing) listed.add(event.task!.id);
          if (event.type === EventType.EVENT_TYPE_DELETED) this.remove(event.task!);
          else this.upsert(event.task!);
        }
        return;
      } catch (thrown) {
        const error = SupervisorError.from(thrown);
        if (error.reason === ErrorReason.REVISION_COMPACTED) continue; // list again
        this.handlers.onError?.(error);
        return;
      }
    }
  }
}
