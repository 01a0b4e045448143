/**
 * The access log's settings (`accessLog` in the config file; docs/configuration.md#access-log): what the
 * least-privilege advisor learns from, and how much of it the broker may hold.
 */
export interface AccessLogConfig {
  /** Record observed access and logins (on by default: the advisor and `access review` read them). */
  readonly enabled: boolean;
  /** Distinct (principal, operation, resource, outcome) tuples kept; beyond, the least recently seen are dropped. */
  readonly maxEntries: number;
  /** Tuples one principal may hold, so that one client naming endless resources cannot push out everyone else's. */
  readonly maxEntriesPerPrincipal: number;
  /** Principals whose logins are kept; beyond, the least recently seen are dropped. */
  readonly maxPrincipals: number;
  /** How often what was observed is written to the metadata store (one transaction); also at shutdown. */
  readonly flushIntervalMs: number;
}

export const DEFAULT_ACCESS_LOG_CONFIG: AccessLogConfig = {
  enabled: true,
  maxEntries: 100_000,
  maxEntriesPerPrincipal: 10_000,
  maxPrincipals: 10_000,
  flushIntervalMs: 5000,
};
