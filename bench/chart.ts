/**
 * The latency-vs-load curve of `npm run bench -- --sweep` as a self-contained SVG: offered
 * rate on x, latency on a log-scale y (p99 of publish -> PUBACK, -> queryable, -> alert on
 * SSE, and p50 of publish -> PUBACK), one marker per sweep step. No plotting library: an SVG
 * of a few polylines is less code than any dependency, and it renders on GitHub as it is.
 */
export interface SweepPoint {
  pctOfMax: number;
  rate: number;
  achieved: number;
  ackP50Ms: number;
  ackP99Ms: number;
  ackP999Ms: number;
  queryableP99Ms: number | null;
  alertP99Ms: number | null;
  /** % of one core the gateway's main thread used during the step (printed along the top of the plot) */
  mainThreadPct?: number;
  /** % of all the machine's cores busy during the step */
  machineCpuPct?: number;
  /** % of the step the gateway's main thread spent in garbage-collection pauses */
  gcPausePct?: number;
}

const SERIES: Array<{ key: keyof SweepPoint; label: string; color: string; dash?: string }> = [
  { key: 'ackP50Ms', label: 'publish → PUBACK p50', color: '#7f8c8d', dash: '4 3' },
  { key: 'ackP99Ms', label: 'publish → PUBACK p99', color: '#2c7fb8' },
  { key: 'queryableP99Ms', label: 'publish → queryable p99', color: '#d95f02' },
  { key: 'alertP99Ms', label: 'publish → alert (SSE) p99', color: '#1b9e77' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function sweepSvg(points: SweepPoint[], title: string): string {
  const W = 760, H = 450, L = 70, R = 20, T = 62, B = 60;
  const values = points.flatMap((p) => SERIES.map((s) => p[s.key] as number | null)).filter((v): v is number => v !== null && v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values, 1))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)));
  const xMax = Math.max(...points.map((p) => p.rate)) * 1.05;
  const x = (v: number) => L + (v / xMax) * (W - L - R);
  const y = (v: number) => T + (1 - (Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (let d = yMin; d <= yMax; d *= 10) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${y(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toFixed(1)} ms</text>`);
  }
  const xStep = 10 ** Math.floor(Math.log10(xMax / 2)) * (xMax / 10 ** Math.floor(Math.log10(xMax)) > 5 ? 2 : 1);
  for (let v = 0; v <= xMax; v += xStep) {
    out.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${Math.round(v).toLocaleString('en-US')}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">offered load (QoS 1 messages/s, open loop)</text>`);
  // the issue's targets at 50 % of the maximum: PUBACK p99 20 ms, queryable and alert p99 100 ms
  for (const [ms, label] of [[20, 'target PUBACK p99 20 ms'], [100, 'target queryable / alert p99 100 ms']] as const) {
    if (ms < yMin || ms > yMax) continue;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="#c0392b" stroke-width="1" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${W - R - 4}" y="${(y(ms) - 4).toFixed(1)}" text-anchor="end" fill="#c0392b" font-size="11">${label}</text>`);
  }
  const half = points.find((p) => p.pctOfMax === 50);
  if (half) out.push(`<line x1="${x(half.rate).toFixed(1)}" x2="${x(half.rate).toFixed(1)}" y1="${T}" y2="${H - B}" stroke="#c0392b" stroke-width="1" stroke-dasharray="2 3"/>`);
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`);
  // the gateway main thread's share of one core at each step: near 100 % the latencies are its queue
  if (points.some((p) => p.mainThreadPct !== undefined)) {
    out.push(`<text x="${L - 6}" y="${T - 8}" text-anchor="end" fill="#555" font-size="10">main thread</text>`);
    for (const p of points) if (p.mainThreadPct !== undefined) out.push(`<text x="${x(p.rate).toFixed(1)}" y="${T - 8}" text-anchor="middle" fill="#555" font-size="10">${p.mainThreadPct} %</text>`);
  }
  // and the whole machine's (gateway, load generator, everything; % of all cores)
  if (points.some((p) => p.machineCpuPct !== undefined)) {
    out.push(`<text x="${L - 6}" y="${T - 20}" text-anchor="end" fill="#555" font-size="10">machine</text>`);
    for (const p of points) if (p.machineCpuPct !== undefined) out.push(`<text x="${x(p.rate).toFixed(1)}" y="${T - 20}" text-anchor="middle" fill="#555" font-size="10">${p.machineCpuPct} %</text>`);
  }
  SERIES.forEach((s, i) => {
    const pts = points.filter((p) => typeof p[s.key] === 'number' && (p[s.key] as number) > 0);
    if (pts.length > 0) {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map((p) => `${x(p.rate).toFixed(1)},${y(p[s.key] as number).toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) out.push(`<circle cx="${x(p.rate).toFixed(1)}" cy="${y(p[s.key] as number).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    out.push(`<line x1="${L + 12}" x2="${L + 36}" y1="${T + 14 + i * 16}" y2="${T + 14 + i * 16}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${L + 42}" y="${T + 18 + i * 16}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
