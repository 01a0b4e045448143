import { CidrTable, parseCidr, type Cidr } from './cidr.js';

/**
 * The listener's connection limits and address lists as the configuration writes them (the config
 * file's `listener:` section; docs/security/network.md#connection-limits-and-address-lists). Every
 * field is optional: absent means the default.
 */
export interface ListenerAdmissionSettings {
  /** Connections open at once on the listener (Kafka's max.connections); `auto`: from the open-file limit. */
  readonly maxConnections?: number | 'auto';
  /** Connections open at once from one address (Kafka's max.connections.per.ip); `auto`: a quarter of maxConnections. */
  readonly maxConnectionsPerIp?: number | 'auto';
  /** Other per-address maximums by CIDR block, the most specific block winning (Kafka's max.connections.per.ip.overrides). */
  readonly maxConnectionsPerIpOverrides?: readonly { readonly cidr: string; readonly max: number }[];
  /** New connections a second on the listener; over it the accept is delayed (KIP-612's max.connection.creation.rate). */
  readonly maxConnectionCreationRate?: number;
  /** New connections a second from one address; over it the connection is closed (KIP-612's per-IP connection_creation_rate). */
  readonly maxConnectionCreationRatePerIp?: number;
  /**
   * Addresses (CIDR blocks: the operators' hosts) that may still connect when the listener is full:
   * up to `reservedConnections` beyond maxConnections, so that an attack from many addresses that
   * fills the listener does not lock the operator out. Empty: no reserve.
   */
  readonly reservedFor?: readonly string[];
  /** Connections beyond maxConnections that only `reservedFor` addresses may take. */
  readonly reservedConnections?: number;
  /** Addresses that may connect (CIDR blocks); empty: every address. */
  readonly allow?: readonly string[];
  /** Addresses that may not connect, whatever `allow` says (deny wins). */
  readonly deny?: readonly string[];
}

/** The settings as a parsed config file gives them (a key may be present and undefined). */
export type ListenerAdmissionInput = { readonly [K in keyof ListenerAdmissionSettings]?: ListenerAdmissionSettings[K] | undefined };

export const DEFAULT_LISTENER_ADMISSION = {
  maxConnections: 'auto',
  maxConnectionsPerIp: 'auto',
  maxConnectionsPerIpOverrides: [],
  // A TLS handshake costs the broker a signature (~0.1 ms ECDSA, ~1 ms RSA-2048): 1,000 a second is at
  // most a core's worth, and far above what a fleet of clients reconnecting at once needs.
  maxConnectionCreationRate: 1000,
  // A client reconnects with a backoff (50 ms to 1 s in librdkafka and the Java client): one address
  // opening 200 a second is a pool of hundreds of processes, or an attack.
  maxConnectionCreationRatePerIp: 200,
  reservedFor: [],
  // Enough for an operator's shells, CLI commands and a monitoring probe; taken out of the 64
  // descriptors `maxConnections: auto` leaves spare, so the broker's own files still have 48.
  reservedConnections: 16,
  allow: [],
  deny: [],
} as const satisfies Required<ListenerAdmissionSettings>;

/** The fewest connections `maxConnections: auto` allows, however small the open-file limit. */
export const MIN_DERIVED_MAX_CONNECTIONS = 32;
/** The fewest connections per address `maxConnectionsPerIp: auto` allows. */
export const MIN_DERIVED_MAX_CONNECTIONS_PER_IP = 8;
/** A rate's bucket holds this many seconds of it: the burst a restarting fleet of clients makes. */
export const RATE_BURST_SECONDS = 2;
/** The longest the listener rate delays an accept; further over the rate, the connection is refused. */
export const MAX_ACCEPT_DELAY_MS = 5000;

/** The settings with every default filled in and every block parsed. */
export interface AdmissionPolicy {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly perIpOverrides: CidrTable<number>;
  readonly maxConnectionCreationRate: number;
  readonly maxConnectionCreationRatePerIp: number;
  readonly reservedFor: CidrTable<true>;
  readonly reservedConnections: number;
  readonly allow: CidrTable<true>;
  readonly deny: CidrTable<true>;
  /** What the settings resolved to, for the log and the start event. */
  readonly summary: {
    readonly maxConnections: number;
    readonly maxConnectionsPerIp: number;
    readonly maxConnectionsPerIpOverrides: readonly { readonly cidr: string; readonly max: number }[];
    readonly maxConnectionCreationRate: number;
    readonly maxConnectionCreationRatePerIp: number;
    readonly reservedFor: readonly string[];
    readonly reservedConnections: number;
    readonly allow: readonly string[];
    readonly deny: readonly string[];
  };
}

/**
 * `maxConnections: auto`: the descriptors the broker leaves to connections (the open-file limit less
 * the segment files and its own: src/broker works it out), so that a full listener never makes the
 * broker itself meet EMFILE.
 */
export function derivedMaxConnections(connectionDescriptors: number): number {
  return Math.max(MIN_DERIVED_MAX_CONNECTIONS, connectionDescriptors);
}

/** `maxConnectionsPerIp: auto`: a quarter of the listener, so that one address never fills it. */
export function derivedMaxConnectionsPerIp(maxConnections: number): number {
  return Math.max(MIN_DERIVED_MAX_CONNECTIONS_PER_IP, Math.floor(maxConnections / 4));
}

/**
 * Resolves the settings against the descriptors the process leaves to connections (`auto`).
 * Throws an Error naming the setting for a block that does not parse (the config file's schema
 * refuses them first; this guards configurations built in code).
 */
export function resolveAdmissionPolicy(settings: ListenerAdmissionSettings, connectionDescriptors: number): AdmissionPolicy {
  const s = { ...DEFAULT_LISTENER_ADMISSION, ...definedOnly(settings) };
  const maxConnections = s.maxConnections === 'auto' ? derivedMaxConnections(connectionDescriptors) : s.maxConnections;
  const maxConnectionsPerIp = s.maxConnectionsPerIp === 'auto' ? Math.min(maxConnections, derivedMaxConnectionsPerIp(maxConnections)) : s.maxConnectionsPerIp;
  const blocks = (key: string, list: readonly string[]): Cidr[] =>
    list.map((text) => {
      try {
        return parseCidr(text);
      } catch (err) {
        throw new Error(`listener.${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  const overrides = s.maxConnectionsPerIpOverrides;
  const overrideBlocks = blocks(
    'maxConnectionsPerIpOverrides',
    overrides.map((o) => o.cidr),
  );
  return {
    maxConnections,
    maxConnectionsPerIp,
    perIpOverrides: new CidrTable(overrideBlocks.map((cidr, i) => ({ cidr, value: overrides[i]?.max ?? maxConnectionsPerIp }))),
    maxConnectionCreationRate: s.maxConnectionCreationRate,
    maxConnectionCreationRatePerIp: s.maxConnectionCreationRatePerIp,
    reservedFor: new CidrTable(blocks('reservedFor', s.reservedFor).map((cidr) => ({ cidr, value: true as const }))),
    reservedConnections: s.reservedConnections,
    allow: new CidrTable(blocks('allow', s.allow).map((cidr) => ({ cidr, value: true as const }))),
    deny: new CidrTable(blocks('deny', s.deny).map((cidr) => ({ cidr, value: true as const }))),
    summary: {
      maxConnections,
      maxConnectionsPerIp,
      maxConnectionsPerIpOverrides: overrides.map((o) => ({ ...o })),
      maxConnectionCreationRate: s.maxConnectionCreationRate,
      maxConnectionCreationRatePerIp: s.maxConnectionCreationRatePerIp,
      reservedFor: [...s.reservedFor],
      reservedConnections: s.reservedConnections,
      allow: [...s.allow],
      deny: [...s.deny],
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
