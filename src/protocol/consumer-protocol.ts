import { Reader } from '../bytes/reader.js';

/** The protocol type of groups whose members are consumers (as opposed to e.g. `connect`). */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** One topic's partitions in a member's assignment, in the order the leader sent them. */
export interface AssignedTopic {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/**
 * Decodes a member's assignment in a group of protocol type `consumer` (Kafka's
 * ConsumerProtocolAssignment, versions 0-3, which every consumer client sends as SyncGroup's
 * assignment bytes): int16 version, then [string topic, [int32 partition]], then nullable bytes of
 * user data (ignored). Later versions only append fields, so they decode the same way.
 * An empty buffer (a member whose assignment is not known yet) is an empty assignment; malformed
 * bytes throw (a ParapetError DECODE_ERROR from the bounded reader).
 */
export function decodeConsumerAssignment(bytes: Buffer): AssignedTopic[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) r.fail(`consumer protocol assignment version ${version}`);
  const count = r.arrayLength(2 + 4) ?? 0;
  const topics: AssignedTopic[] = [];
  for (let i = 0; i < count; i++) {
    const topic = r.string() ?? r.fail('null topic name in a consumer protocol assignment');
    const n = r.arrayLength(4) ?? 0;
    const partitions: number[] = [];
    for (let j = 0; j < n; j++) partitions.push(r.int32());
    topics.push({ topic, partitions });
  }
  return topics;
}
