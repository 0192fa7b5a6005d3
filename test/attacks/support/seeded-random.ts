/**
 * A small seeded PRNG (mulberry32) for fuzzers and soak runs: the same seed
 * replays the same input stream, so a failure can be reproduced from the
 * seed a run prints. Not for anything that needs unpredictability.
 */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = ReturnType<typeof prng>;

/** A whole number in [0, n). */
export const int = (r: Rand, n: number): number => Math.floor(r() * n);

export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];
