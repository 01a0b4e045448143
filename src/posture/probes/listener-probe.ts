import type { BrokerAddress } from '../../client/client-config.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiVersions } from '../../protocol/messages/api-versions.js';
import { Metadata } from '../../protocol/messages/metadata.js';
import { SaslHandshake } from '../../protocol/messages/sasl-handshake.js';
import type { ApiSchema } from '../../protocol/messages/schema.js';
import { ProbeConnection } from './raw-kafka.js';
import { probeTls, type TlsObservation } from './tls-probe.js';

/** What a stranger gets from one broker address: its transport, its SASL offer, and whether it serves them. */
export interface ListenerObservation {
  readonly address: BrokerAddress;
  /** Why nothing could be learnt (no connection, not Kafka); absent when the probe ran. */
  readonly unreachable?: string;
  /** Undefined: the listener does not speak TLS. */
  readonly tls?: TlsObservation;
  /**
   * The SASL mechanisms the listener offers (SaslHandshake with an unknown one lists them); `none`:
   * the listener does not do SASL (ILLEGAL_SASL_STATE, as Kafka answers on PLAINTEXT and SSL listeners).
   */
  readonly sasl: readonly string[] | 'none' | 'unknown';
  /** Metadata asked without logging in: answered (with how many topics and brokers it showed) or not. */
  readonly anonymous: { readonly answered: false } | { readonly answered: true; readonly topics: number; readonly brokers: readonly BrokerAddress[] };
}

/** A mechanism no broker offers: the answer to it lists those it does (KIP-43). */
const PROBE_MECHANISM = 'PARAPET-POSTURE-PROBE';

export async function probeListener(address: BrokerAddress, ca: Buffer | undefined, timeoutMs: number): Promise<ListenerObservation> {
  const tls = await probeTls(address, ca, timeoutMs);
  const open = () => ProbeConnection.open(address, tls !== undefined, timeoutMs);
  let versions: Map<number, { min: number; max: number }>;
  let sasl: ListenerObservation['sasl'] = 'unknown';
  try {
    const c = await open();
    try {
      const answer = await c.request(ApiVersions, 0, {}, timeoutMs);
      if (answer === undefined) return { address, unreachable: 'it does not answer ApiVersions: not a Kafka listener', ...(tls === undefined ? {} : { tls }), sasl, anonymous: { answered: false } };
      versions = new Map((answer.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[]).map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
      const handshake = versions.has(SaslHandshake.apiKey) ? await c.request(SaslHandshake, 1, { mechanism: PROBE_MECHANISM }, timeoutMs) : undefined;
      if (handshake?.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) sasl = [...(handshake.mechanisms as string[])];
      else if (handshake?.errorCode === ErrorCode.ILLEGAL_SASL_STATE) sasl = 'none';
    } finally {
      c.close();
    }
  } catch (err) {
    return { address, unreachable: `no connection: ${err instanceof Error ? err.message : String(err)}`, ...(tls === undefined ? {} : { tls }), sasl, anonymous: { answered: false } };
  }
  // A fresh connection: a broker may close the one that failed its handshake.
  let anonymous: ListenerObservation['anonymous'] = { answered: false };
  const version = commonVersion(Metadata, versions);
  if (version !== undefined) {
    const c = await open().catch(() => undefined);
    if (c !== undefined) {
      try {
        const body = { topics: version === 0 ? [] : null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
        const metadata = await c.request(Metadata, version, body, timeoutMs);
        if (metadata !== undefined) {
          const brokers = (metadata.brokers as { host: string; port: number }[]).map((b) => ({ host: b.host, port: b.port }));
          anonymous = { answered: true, topics: (metadata.topics as unknown[]).length, brokers };
        }
      } finally {
        c.close();
      }
    }
  }
  return { address, ...(tls === undefined ? {} : { tls }), sasl, anonymous };
}

function commonVersion(api: ApiSchema, broker: ReadonlyMap<number, { min: number; max: number }>): number | undefined {
  const range = broker.get(api.apiKey);
  if (range === undefined) return undefined;
  const v = Math.min(api.maxVersion, range.max);
  return v >= Math.max(api.minVersion, range.min) ? v : undefined;
}
