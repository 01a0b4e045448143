import type { Registry } from 'prom-client';
import type { RequestOutcome } from '../server/stages/metrics.js';

interface ApiStats {
  readonly outcomes: Record<RequestOutcome, number>;
  /** Observations at or below each bound (not yet cumulative). */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/**
 * `parapet_requests_total` and `parapet_request_duration_seconds`, counted on the request path in
 * plain numbers and read by the registry at each scrape. Every request passes here: prom-client's
 * labelled counter and histogram children hash their labels on each increment (about 0.3 µs per
 * request, 1–2% of a small produce), while this is a map lookup and a few additions. The exposition
 * is prom-client's: these are metrics of its registry, with the usual text format.
 */
export class RequestStats {
  readonly #bounds: readonly number[];
  readonly #apis = new Map<string, ApiStats>();

  constructor(registry: Registry, bounds: readonly number[]) {
    this.#bounds = bounds;
    const apis = this.#apis;
    registry.registerMetric({
      name: 'parapet_requests_total',
      help: 'Requests answered, by API and outcome (ok, error: an error code in the response, closed: the connection was closed)',
      type: 'counter',
      get: () => ({
        name: 'parapet_requests_total',
        help: 'Requests answered, by API and outcome (ok, error: an error code in the response, closed: the connection was closed)',
        type: 'counter',
        aggregator: 'sum',
        values: [...apis].flatMap(([api, s]) => (Object.keys(s.outcomes) as RequestOutcome[]).filter((o) => s.outcomes[o] > 0).map((outcome) => ({ labels: { api, outcome }, value: s.outcomes[outcome] }))),
      }),
    } as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric({
      name: 'parapet_request_duration_seconds',
      help: 'Time from a decoded request to its response, by API (a long-polling Fetch includes its wait)',
      type: 'histogram',
      get: () => ({
        name: 'parapet_request_duration_seconds',
        help: 'Time from a decoded request to its response, by API (a long-polling Fetch includes its wait)',
        type: 'histogram',
        aggregator: 'sum',
        values: [...apis].flatMap(([api, s]) => this.#histogramValues(api, s)),
      }),
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  record(api: string, outcome: RequestOutcome, seconds: number): void {
    let s = this.#apis.get(api);
    if (s === undefined) {
      s = { outcomes: { ok: 0, error: 0, closed: 0 }, buckets: this.#bounds.map(() => 0), sum: 0, count: 0 };
      this.#apis.set(api, s);
    }
    s.outcomes[outcome]++;
    s.sum += seconds;
    s.count++;
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        s.buckets[i] = (s.buckets[i] ?? 0) + 1;
        break;
      }
    }
  }

  #histogramValues(api: string, s: ApiStats): { metricName: string; labels: Record<string, string | number>; value: number }[] {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    let cumulative = 0;
    this.#bounds.forEach((le, i) => {
      cumulative += s.buckets[i] ?? 0;
      values.push({ metricName: 'parapet_request_duration_seconds_bucket', labels: { api, le }, value: cumulative });
    });
    values.push({ metricName: 'parapet_request_duration_seconds_bucket', labels: { api, le: '+Inf' }, value: s.count });
    values.push({ metricName: 'parapet_request_duration_seconds_sum', labels: { api }, value: s.sum });
    values.push({ metricName: 'parapet_request_duration_seconds_count', labels: { api }, value: s.count });
    return values;
  }
}
