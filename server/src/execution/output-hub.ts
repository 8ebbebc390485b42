import type { OutputChunk, Run } from "@supervisor/sdk";

export type RunEvent =
  | { kind: "chunk"; chunk: OutputChunk }
  | { kind: "started"; run: Run }
  | { kind: "finished"; run: Run };

type Listener = (event: RunEvent) => void;

/**
 * Live run events (committed output chunks, starts, finishes) for output
 * followers, keyed by task so a follower of "the latest attempt" also hears
 * about the next attempt starting.
 */
export class OutputHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  subscribe(taskId: string, listener: Listener): () => void {
    let set = this.listeners.get(taskId);
    if (!set) this.listeners.set(taskId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(taskId);
    };
  }

  publish(taskId: string, event: RunEvent): void {
    const set = this.listeners.get(taskId);
    if (set) for (const listener of set) listener(event);
  }
}
