/**
 * Tests wait on events, never on fixed sleeps: a stream message, a process's output line, a
 * child's `exit`, a fake clock where the code under test takes one — or, where there is no event
 * to wait on, a state polled with a bounded wait (`waitUntil` here, `waitForTask` in runners.ts).
 * A bound is a safety net, never a timing assertion.
 *
 * Every other timer in test/ says why it is not a synchronising sleep, in a comment on its line or
 * the line above (`scripts/check-test-sleeps.mjs`, part of `npm run lint`, enforces it):
 * - `// scenario pause: …` — the pause is the scenario itself (a process stopped for longer than
 *   its lease; a kill at a random moment of a seeded fault test);
 * - `// bound: …` — the timer only caps a wait on an event, or paces a bounded poll.
 */

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
    await new Promise((resolve) => setTimeout(resolve, pollMs)); // bound: the interval of a bounded poll
  }
}
