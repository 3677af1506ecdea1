/** The gateway's /metrics as the bench reads it: Prometheus text looked up sample by sample. */

/** a lookup of one sample of a Prometheus text exposition by its full name and labels, as printed (NaN when absent) */
export function readMetrics(text: string): (name: string) => number {
  const esc = (name: string) => name.replace(/[{}".]/g, (ch) => `\\${ch}`);
  return (name) => Number(new RegExp(`^${esc(name)} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** one scrape of a gateway's /metrics */
export async function scrapeMetrics(http: string): Promise<(name: string) => number> {
  return readMetrics(await (await fetch(`${http}/metrics`)).text());
}
