/**
 * Polls `condition` until it holds (returns its truthy value), failing after
 * `maxWaitMs`. For states with no event to wait on (a file a command writes,
 * a process going away); the bound is a safety net, never a timing assertion.
 */
export async function waitUntil<T>(
  condition: () => T | Promise<T>,
  what: string,
  maxWaitMs = 30_000,
  pollMs = 20,
): Promise<NonNullable<T>> {
  const giveUpAt = Date.now() + maxWaitMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what} after ${maxWaitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
