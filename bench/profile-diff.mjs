// Compares two .cpuprofile files of bench/profile.mjs function by function:
// self time per operation in each, largest difference first. Each profile's
// samples are scaled so that they add up to the CPU per operation its run
// measured (RESULT's serverCpu / value), so runs of different lengths compare.
// Usage: node bench/profile-diff.mjs A.cpuprofile A_US_PER_OP B.cpuprofile B_US_PER_OP [--top 45]
import fs from 'node:fs';

const argv = process.argv.slice(2);
const top = argv.includes('--top') ? Number(argv[argv.indexOf('--top') + 1]) : 45;
const [fileA, usA, fileB, usB] = argv;
if (!fileB) throw new Error('usage: node bench/profile-diff.mjs A.cpuprofile A_US_PER_OP B.cpuprofile B_US_PER_OP');

/** Self time per function, as µs per operation. */
function selfTimes(file, usPerOp) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = nodes.get(profile.samples[i]).callFrame;
    if (frame.functionName === '(idle)') continue;
    const where = frame.url.replace(/^.*\/(dist|bench)\//, '$1/');
    const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    busy += dt;
  }
  for (const [key, t] of self) self.set(key, (t / busy) * usPerOp);
  return self;
}

const a = selfTimes(fileA, Number(usA));
const b = selfTimes(fileB, Number(usB));
const rows = [...new Set([...a.keys(), ...b.keys()])].map((k) => ({ k, a: a.get(k) ?? 0, b: b.get(k) ?? 0 }));
rows.sort((x, y) => y.a - y.b - (x.a - x.b));
console.log(`µs per op: A ${usA}, B ${usB}; columns: A - B, A, B, function`);
for (const r of rows.slice(0, top)) {
  console.log(`${(r.a - r.b).toFixed(2).padStart(7)} ${r.a.toFixed(2).padStart(7)} ${r.b.toFixed(2).padStart(7)}  ${r.k}`);
}
