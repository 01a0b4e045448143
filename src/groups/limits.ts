import type { Logger } from '../logger.js';
import type { MemberProtocol } from './group.js';

/**
 * What one consumer group may make the coordinator hold (docs/security/limits.md#consumer-groups).
 * Kafka bounds members per group (group.max.size, default unbounded) and, indirectly, a group's
 * members' metadata and assignments: its group metadata record must fit the offsets topic's
 * message.max.bytes (1 MiB by default), else SyncGroup fails (GroupMetadataManager maps
 * MESSAGE_TOO_LARGE to UNKNOWN_SERVER_ERROR). Parapet refuses earlier, at JoinGroup, with a clear code.
 */
export interface GroupSizeLimits {
  /** Kafka's group.max.size: members plus pending member ids (KIP-394) → GROUP_MAX_SIZE_REACHED (81). */
  readonly maxGroupSize: number;
  /** Protocols (assignors) one member may list; real clients send 1 to 3 → MESSAGE_TOO_LARGE (10). */
  readonly maxProtocolsPerMember: number;
  /** One member's protocol names and metadata, and one member's assignment → MESSAGE_TOO_LARGE (10). */
  readonly maxMemberMetadataBytes: number;
  /**
   * A group's protocol metadata and assignments together, all members (→ MESSAGE_TOO_LARGE): bounds
   * the JoinGroup response to the leader and a DescribeGroups answer for the group.
   */
  readonly maxGroupMetadataBytes: number;
  /** A member id handed out with MEMBER_ID_REQUIRED expires after this, or its session timeout if shorter. */
  readonly pendingMemberTimeoutMs: number;
}

export const DEFAULT_GROUP_SIZE_LIMITS: GroupSizeLimits = {
  maxGroupSize: 1000,
  maxProtocolsPerMember: 16,
  maxMemberMetadataBytes: 1024 * 1024,
  maxGroupMetadataBytes: 4 * 1024 * 1024,
  pendingMemberTimeoutMs: 30_000,
};

/**
 * What a member is charged against its principal's memory budget besides its strings and bytes: the
 * Member object, its timers, its copies of the metadata and the promise of a parked JoinGroup (20,000
 * parked members took 1.8 KiB each on Node 20 with two 16-byte protocols, strings included).
 */
export const MEMBER_OVERHEAD_BYTES = 2048;
/** The same for a pending member id: a map entry and its expiry timer (measured at 0.9 KiB each). */
export const PENDING_MEMBER_OVERHEAD_BYTES = 1024;

/** The bytes of a member's protocol list that count against the metadata limits: names and metadata. */
export function protocolBytes(protocols: readonly MemberProtocol[]): number {
  let bytes = 0;
  for (const p of protocols) bytes += p.name.length + p.metadata.length;
  return bytes;
}

/** What a member holds, as charged to its principal's memory budget. */
export function memberCost(m: {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly protocolType: string;
  readonly protocols: readonly MemberProtocol[];
  readonly assignment: Buffer;
}): number {
  return (
    MEMBER_OVERHEAD_BYTES +
    m.memberId.length +
    (m.groupInstanceId?.length ?? 0) +
    m.clientId.length +
    m.clientHost.length +
    m.protocolType.length +
    protocolBytes(m.protocols) +
    m.assignment.length
  );
}

export function pendingMemberCost(memberId: string): number {
  return PENDING_MEMBER_OVERHEAD_BYTES + memberId.length;
}

const EMPTY = Buffer.alloc(0);

/**
 * An exact-size copy of bytes the coordinator keeps. Decoded request fields are views of the request
 * frame (a pooled buffer rounded up to a power of two), so keeping the view would keep the whole frame;
 * allocUnsafeSlow, unlike Buffer.from, does not take a slice of Node's shared 8 KiB pool either.
 */
export function ownedCopy(bytes: Buffer): Buffer {
  if (bytes.length === 0) return EMPTY;
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

export function ownedProtocols(protocols: readonly MemberProtocol[]): MemberProtocol[] {
  return protocols.map((p) => ({ name: p.name, metadata: ownedCopy(p.metadata) }));
}

/**
 * Warns in the log when a limit refuses a request, so that an operator can tell a client's
 * POLICY_VIOLATION or GROUP_MAX_SIZE_REACHED from an ACL problem; at most one line per interval, with
 * how many refusals it stood for, as a client retrying in a loop must not flood the log.
 */
export class LimitLog {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #lastAt = -Infinity;
  #suppressed = 0;

  constructor(logger: Logger, now: () => number, intervalMs = 1000) {
    this.#logger = logger;
    this.#now = now;
    this.#intervalMs = intervalMs;
  }

  /** Logs the refusal (or counts it) and returns its error code. */
  refused(errorCode: number, details: { readonly api: string; readonly group: string; readonly principal: string; readonly limit: string }): number {
    const now = this.#now();
    if (now - this.#lastAt < this.#intervalMs) {
      this.#suppressed++;
      return errorCode;
    }
    const suppressed = this.#suppressed;
    this.#lastAt = now;
    this.#suppressed = 0;
    this.#logger.warn({ ...details, errorCode, ...(suppressed > 0 ? { alsoRefusedSinceLastLine: suppressed } : {}) }, 'consumer group request refused by a limit (docs/security/limits.md#consumer-groups)');
    return errorCode;
  }
}
