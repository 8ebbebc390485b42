/** A seeded PRNG (mulberry32): fault tests print their seed, and the same seed replays the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a fault test: FUZZ_SEED when given (a replay), else a fresh one. Printed either way. */
export function faultSeed(test: string): number {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 1_000_000_000));
  console.log(`${test}: seed ${seed} (replay with FUZZ_SEED=${seed})`);
  return seed;
}
