/**
 * What some work leaves for the garbage collector: bytes still in V8's young
 * generation after a scavenge, per operation. Measured in a child process
 * (runSurvivorsChild) started with --expose-gc and a 64 MiB semi-space, so
 * that no scavenge runs while the operations come and go and the one asked
 * for sees everything they left.
 */
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

type Gc = (options: object) => void;

function exposedGc(): Gc {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  return gc;
}

const youngBytes = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? NaN;

/**
 * In the child: runs `warmUp` operations (compiled code, maps), then three
 * rounds of `count` after a full GC, each followed by a scavenge, and
 * returns the bytes left in the young generation per operation: the least of
 * the three, since a round can catch a few unrelated objects in flight
 * (timers, a worker's messages).
 */
export async function leastSurvivors(run: (operations: number) => unknown, count: number, warmUp: number): Promise<number> {
  const gc = exposedGc();
  await run(warmUp);
  await sleep(50);
  let survived = Infinity;
  for (let round = 0; round < 3; round++) {
    gc({ type: 'major', execution: 'sync' });
    await sleep(20);
    await run(count);
    await sleep(50);
    gc({ type: 'minor', execution: 'sync' });
    survived = Math.min(survived, youngBytes() / count);
  }
  return survived;
}

/**
 * In the test: runs the child `file` (TypeScript, through tsx) with the
 * flags above and returns the JSON of its last output line; undefined when
 * its stderr matches `refusal` (the child said it cannot measure here).
 */
export function runSurvivorsChild<T>(file: string, args: string[] = [], refusal?: RegExp): T | undefined {
  const flags = ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];
  const child = spawnSync(process.execPath, [...flags, '--import', 'tsx', file, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (child.status !== 0 && refusal !== undefined && refusal.test(child.stderr)) return undefined;
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').pop() as string) as T;
}
