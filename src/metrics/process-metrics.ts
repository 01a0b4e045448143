import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

/**
 * The process's own metrics (event-loop lag, GC, heap, CPU, open file descriptors), in one registry
 * per process, made on first use: they describe the process, not a broker, and prom-client's
 * collectors (a GC observer, an event-loop delay monitor) are never stopped, so one set per broker
 * would pile up in a process that starts many (the tests). Every broker's /metrics includes them.
 */
export function processMetricsRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix: 'parapet_' });
  }
  return shared;
}
