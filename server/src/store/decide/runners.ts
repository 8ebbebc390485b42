import type { RunnerInfo as Runner } from "@supervisor/sdk";
import type { WriteView } from "./view.js";

/** Stores a runner's record (connect, drain, disconnect). */
export function decidePutRunner(view: WriteView, runner: Runner): Runner {
  view.putRunner(runner);
  return runner;
}

/** Forgets a runner's record. */
export function decideDeleteRunner(view: WriteView, runner: Runner): void {
  view.deleteRunner(runner);
}
