/**
 * Linear-time checks without timed assertions (team rule: performance lives
 * in bench/). An operation is timed at size n and 16n, best of 3 each; a
 * linear one scales about 16x, a quadratic one about 256x, so the ratio must
 * stay well below quadratic. n doubles until the small case takes at least
 * `minSmallMs`, so timer resolution and sub-millisecond noise do not decide
 * the ratio. (test/attacks/header-limits.test.ts does the same over sockets.)
 * SW_LINEAR_LOG=1 prints every measurement to stderr.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Each timed run starts from a collected heap, so garbage left by the previous
// run (the large case allocates a lot) is not billed to the next one.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

export interface ScalingOptions {
  /** First size tried. */
  startN: number;
  /** Largest small size tried (the large case is 16 times this). */
  maxN: number;
  /** The small case must take at least this long before the ratio counts. Default 4 ms. */
  minSmallMs?: number;
  /** Fail when large / small reaches this. Default 64 (linear ~16, quadratic ~256). */
  maxRatio?: number;
}

export interface Scaling {
  n: number;
  smallMs: number;
  largeMs: number;
  ratio: number;
}

export const SCALE_FACTOR = 16;

/** Best of 3 timings of `run`. */
function bestOf3(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/**
 * `prepare(n)` builds the input of size n (untimed) and returns the timed
 * operation, which must be repeatable. Returns the measured scaling.
 */
export function measureScaling(prepare: (n: number) => () => void, options: ScalingOptions): Scaling {
  const minSmallMs = options.minSmallMs ?? 4;
  let n = options.startN;
  let smallMs = bestOf3(prepare(n));
  while (smallMs < minSmallMs && n * 2 <= options.maxN) {
    n *= 2;
    smallMs = bestOf3(prepare(n));
  }
  const largeMs = bestOf3(prepare(n * SCALE_FACTOR));
  // When even maxN stays under minSmallMs, its reading is mostly noise: divide by minSmallMs instead,
  // so only a large case slower than maxRatio * minSmallMs can fail.
  return { n, smallMs, largeMs, ratio: largeMs / Math.max(smallMs, minSmallMs) };
}

/**
 * Asserts that `prepare`'s operation scales well below quadratically; returns
 * the numbers for notes. The machine is shared (load from other processes
 * lands more often on the longer, large case), so a failing measurement is
 * repeated up to twice: a quadratic operation fails every time, noise rarely.
 */
export function assertLinearTime(label: string, prepare: (n: number) => () => void, options: ScalingOptions): Scaling {
  const maxRatio = options.maxRatio ?? 64;
  let best: Scaling | undefined;
  for (let attempt = 0; attempt < 3 && (best === undefined || best.ratio >= maxRatio); attempt++) {
    const scaling = measureScaling(prepare, options);
    if (best === undefined || scaling.ratio < best.ratio) best = scaling;
  }
  const scaling = best as Scaling;
  const detail =
    `${label}: n=${scaling.n} ${scaling.smallMs.toFixed(2)} ms, ${SCALE_FACTOR}n ${scaling.largeMs.toFixed(2)} ms, ` +
    `ratio ${scaling.ratio.toFixed(1)} (linear ~${SCALE_FACTOR}, quadratic ~${SCALE_FACTOR * SCALE_FACTOR})`;
  if (process.env.SW_LINEAR_LOG) console.error(detail);
  assert.ok(scaling.ratio < maxRatio, `${detail}: looks superlinear`);
  return scaling;
}
