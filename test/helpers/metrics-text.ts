/**
 * The value of one sample in Prometheus' text format: `name{labels}` with at least the given labels
 * (others may be there too); undefined when no such sample is exposed.
 */
export function sampleValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1] ?? '', pair[2] ?? '');
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** Every distinct value of `label` among the samples of `name`. */
export function labelValues(text: string, name: string, label: string): Set<string> {
  const values = new Set<string>();
  const pattern = new RegExp(`[{,]${label}="((?:[^"\\\\]|\\\\.)*)"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = pattern.exec(line);
    if (m?.[1] !== undefined) values.add(m[1]);
  }
  return values;
}
