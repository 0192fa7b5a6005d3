// CPU accounting from /proc, for the "what limits this number" columns.
import fs from 'node:fs';

/** CPU seconds (user + system, all threads) used so far by process `pid`. */
export function cpuOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in 100 Hz ticks
  } catch {
    return NaN;
  }
}

/** CPU seconds spent in the kernel (stime, all threads) so far by process `pid`. */
export function sysCpuOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Minor page faults so far of process `pid` (field 10 of /proc/PID/stat): a
 * fault per fresh page the kernel hands over, so a server that allocates
 * every large message anew shows ~256 per MiB received.
 */
export function minfltOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return NaN;
  }
}

/** CPU seconds used so far by this process. */
export function selfCpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Busy and total jiffies of cpu0 and cpu1, system-wide (shows other processes' load on our cores). */
export function coreTimes() {
  const lines = fs.readFileSync('/proc/stat', 'latin1').split('\n');
  return [0, 1].map((c) => {
    const line = lines.find((l) => l.startsWith(`cpu${c} `));
    if (!line) return { busy: 0, total: 0 };
    const f = line.split(/\s+/).slice(1).map(Number);
    const idle = f[3] + f[4];
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  });
}

/** Fraction of each core busy between two coreTimes() samples. */
export function coreBusy(a, b) {
  return a.map((x, i) => (b[i].busy - x.busy) / Math.max(1, b[i].total - x.total));
}
