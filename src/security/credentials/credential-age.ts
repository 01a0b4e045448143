import type { ScramCredentialSetTime } from '../../storage/metadata-store.js';
import { SCRAM_MECHANISMS } from './scram-keys.js';

/**
 * When each SCRAM credential was last set, as the admin endpoint serves it (in GET /v1/logins) and as
 * `parapet posture` reads it back to report passwords older than a policy (docs/security/posture.md).
 * Kafka's DescribeUserScramCredentials has no such field, so this is Parapet's own.
 */
export interface CredentialSetTime {
  readonly principal: string;
  readonly mechanism: string;
  /** Null: set before Parapet recorded the time (a store older than schema v9); its age is unknown. */
  readonly setAtMs: number | null;
}

export interface CredentialSetTimeJson {
  readonly principal: string;
  readonly mechanism: string;
  readonly setAt: string | null;
}

/** What this needs of the metadata store (MetadataStore.scramCredentialSetTimes). */
export interface CredentialSetTimeSource {
  scramCredentialSetTimes(): ScramCredentialSetTime[];
}

/** Every credential's set time, as JSON; a mechanism this broker does not know is left out, as DescribeUserScramCredentials does. */
export function credentialSetTimesJson(store: CredentialSetTimeSource): CredentialSetTimeJson[] {
  return store
    .scramCredentialSetTimes()
    .filter((c) => (SCRAM_MECHANISMS as readonly string[]).includes(c.mechanism))
    .map((c) => ({ principal: `User:${c.user}`, mechanism: c.mechanism, setAt: c.setAtMs === null ? null : new Date(c.setAtMs).toISOString() }));
}

/** Thrown for an answer that is not what this version of the broker sends. */
export class CredentialSetTimeFormatError extends Error {
  override name = 'CredentialSetTimeFormatError';
}

export function credentialSetTimeFromJson(value: unknown): CredentialSetTime {
  if (typeof value !== 'object' || value === null) throw new CredentialSetTimeFormatError('a credential entry is not an object');
  const { principal, mechanism, setAt } = value as Record<string, unknown>;
  if (typeof principal !== 'string' || typeof mechanism !== 'string') throw new CredentialSetTimeFormatError('a credential entry has no principal or mechanism');
  if (setAt === null) return { principal, mechanism, setAtMs: null };
  const ms = typeof setAt === 'string' ? Date.parse(setAt) : NaN;
  if (Number.isNaN(ms)) throw new CredentialSetTimeFormatError('a credential entry\'s "setAt" is neither a date nor null');
  return { principal, mechanism, setAtMs: ms };
}
