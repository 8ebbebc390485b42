/**
 * SIGTERM/SIGINT: a clean stop. A second signal runs `force` (if given: e.g.
 * kill the running tasks' process groups) and exits 1.
 */
export function stopOnSignals(stop: () => Promise<void>, force?: () => Promise<void>): void {
  let stopping = false;
  let forcing = false;
  const onSignal = () => {
    if (forcing) return;
    if (stopping) {
      forcing = true;
      (force ?? (async () => {}))().finally(() => process.exit(1));
      return;
    }
    stopping = true;
    // Once forced, the clean stop finishing (its tasks were killed) must not report success.
    stop().then(
      () => !forcing && process.exit(0),
      () => !forcing && process.exit(1),
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
