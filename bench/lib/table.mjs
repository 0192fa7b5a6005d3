// The tables of bench/run.mjs: medians over rounds, ratios to the baseline
// measured in the same run, and the markdown they are printed as.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
export function fmt(x) {
  if (!Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1e6) return (x / 1e6).toFixed(2) + 'M';
  if (Math.abs(x) >= 1e4) return (x / 1e3).toFixed(1) + 'k';
  if (Math.abs(x) >= 100) return x.toFixed(0);
  return x.toFixed(2);
}
export const pct = (x) => (Number.isFinite(x) ? Math.round(x * 100) + '%' : '-');

/** One row per server: medians over its rounds, ratios to `baseline` measured in the same run. */
export function summarize(w, samples, baseline) {
  const rows = [];
  const base = samples[baseline]?.filter((s) => Number.isFinite(s.value)).map((s) => s.value);
  const baseMedian = base?.length ? median(base) : NaN;
  for (const [name, list] of Object.entries(samples)) {
    const ok = list.filter((s) => Number.isFinite(s.value));
    const failed = list.find((s) => s.error);
    const skipped = list.find((s) => s.skipped);
    const row = { name };
    if (failed) row.status = `FAILED: ${failed.error}`;
    else if (skipped && !ok.length) row.status = `skipped: ${skipped.skipped}`;
    if (ok.length) {
      const vals = ok.map((s) => s.value);
      row.median = median(vals);
      row.min = Math.min(...vals);
      row.max = Math.max(...vals);
      row.ratio = row.median / baseMedian;
      row.serverCpu = median(ok.map((s) => s.serverCpu ?? NaN));
      row.loadgenCpu = median(ok.map((s) => s.loadgenCpu ?? NaN));
      // CPU time per operation of the measured side (server, or the client for client-echo):
      // unlike the rate it barely moves when other processes compete for the core.
      row.usPerOp = median(ok.map((s) => ((w.client ? s.loadgenCpu : s.serverCpu) / s.value) * 1e6));
      // The kernel's part of it: syscalls, TCP and page faults, the same for every server doing the same I/O.
      row.sysUsPerOp = median(ok.map((s) => (Number.isFinite(s.serverSysCpu) && !w.client ? (s.serverSysCpu / s.value) * 1e6 : NaN)));
      // Minor page faults of the server per operation: fresh pages from the kernel (issue 16).
      row.minfltPerOp = median(ok.map((s) => (Number.isFinite(s.serverMinflt) && s.count ? s.serverMinflt / s.count : NaN)));
      row.core0 = median(ok.map((s) => s.coreBusy?.[0] ?? NaN));
      row.core1 = median(ok.map((s) => s.coreBusy?.[1] ?? NaN));
      if (w.bytes) row.mbps = (row.median * w.bytes) / 2 ** 20;
      if (w.load.kind === 'memory') row.status = `JS heap+external ${median(ok.map((s) => s.heapPerConnKiB)).toFixed(2)} KiB/conn`;
    }
    rows.push(row);
  }
  const baseCost = rows.find((r) => r.name === baseline)?.usPerOp;
  for (const r of rows) r.costRatio = baseCost / r.usPerOp;
  return rows;
}

/** The markdown table of one workload. */
export function formatTable(w, rows, baseline) {
  const head = [w.client ? 'client' : 'server', `median ${w.unit}`, 'min..max', `x ${baseline}${w.lowerIsBetter ? ' (lower=better)' : ''}`, 'cpu srv/gen', 'core0/1 busy', `${w.client ? 'client' : 'srv'} cpu µs/op`, `x ${baseline} by cpu`, 'of it kernel µs', 'srv minflt/op', ''];
  const lines = rows.map((r) => [
    r.name,
    fmt(r.median) + (r.mbps ? ` (${fmt(r.mbps)} MiB/s)` : ''),
    r.median !== undefined ? `${fmt(r.min)}..${fmt(r.max)}` : '',
    Number.isFinite(r.ratio) ? r.ratio.toFixed(2) + 'x' : '',
    r.median !== undefined && Number.isFinite(r.serverCpu) ? `${pct(r.serverCpu)}/${pct(r.loadgenCpu)}` : '',
    r.median !== undefined && Number.isFinite(r.core0) ? `${pct(r.core0)}/${pct(r.core1)}` : '',
    Number.isFinite(r.usPerOp) ? r.usPerOp.toFixed(r.usPerOp < 10 ? 2 : 0) : '',
    Number.isFinite(r.costRatio) ? r.costRatio.toFixed(2) + 'x' : '',
    Number.isFinite(r.sysUsPerOp) ? r.sysUsPerOp.toFixed(r.sysUsPerOp < 10 ? 2 : 0) : '',
    Number.isFinite(r.minfltPerOp) ? fmt(r.minfltPerOp) : '',
    r.status ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const out = [`\n## ${w.id} — ${w.title}`, '', '| ' + head.map((h, i) => h.padEnd(widths[i])).join(' | ') + ' |', '|' + widths.map((n) => '-'.repeat(n + 2)).join('|') + '|'];
  for (const l of lines) out.push('| ' + l.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |');
  return out.join('\n');
}
