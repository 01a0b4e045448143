/**
 * One condition /readyz waits for: `ready()` returns true, or false or a short reason why not (shown
 * in the 503 body beside the check's name). It is called at every /readyz request, so it must be cheap
 * and must not throw (a throw counts as not ready).
 */
export interface ReadinessCheck {
  readonly name: string;
  ready(): boolean | string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** The checks that failed, with their reasons. */
  readonly failing: readonly { readonly check: string; readonly reason?: string }[];
}

export function evaluateReadiness(checks: readonly ReadinessCheck[]): ReadinessReport {
  const failing: { check: string; reason?: string }[] = [];
  for (const check of checks) {
    let outcome: boolean | string;
    try {
      outcome = check.ready();
    } catch (err) {
      outcome = err instanceof Error ? err.message : String(err);
    }
    if (outcome === true) continue;
    failing.push(typeof outcome === 'string' ? { check: check.name, reason: outcome } : { check: check.name });
  }
  return { ready: failing.length === 0, failing };
}
