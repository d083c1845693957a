/** Reads counters from a node's /metrics (Prometheus text). */
export async function scrape(url: string): Promise<string> {
  try {
    const r = await fetch(`${url}/metrics`);
    return r.ok ? await r.text() : '';
  } catch {
    return '';
  }
}

/** Sum of a metric's samples whose labels contain every `label="value"` given. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

export async function edgeDropped(edgeUrl: string): Promise<number> {
  return metricSum(await scrape(edgeUrl), 'tiercast_relay_chunks_dropped_total', { reason: 'slow_viewer' });
}
