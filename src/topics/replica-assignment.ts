import { ErrorCode } from '../protocol/error-codes.js';

/**
 * Manual replica assignments (CreateTopics `assignments`, CreatePartitions `assignments`) on a single
 * broker. Tools send them to place partitions by hand (kafka-topics.sh --replica-assignment,
 * confluent-kafka's NewTopic(replica_assignment=…), Kafka Streams' test utilities): naming only this
 * broker is an ordinary creation; naming another is refused as Kafka's controller refuses a broker it
 * does not know (ReplicationControlManager.validateManualPartitionAssignment), with the same codes.
 */

/** One partition's replicas as CreateTopics carries them. */
export interface PartitionAssignment {
  readonly partitionIndex: number;
  readonly brokerIds: readonly number[];
}

export type AssignmentCheck = { readonly kind: 'ok'; readonly partitions: number } | { readonly kind: 'refused'; readonly errorCode: number; readonly errorMessage: string };

const refused = (errorCode: number, errorMessage: string): AssignmentCheck => ({ kind: 'refused', errorCode, errorMessage });
const invalidAssignment = (message: string) => refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);

/** Why one partition's replica list cannot be had on broker `nodeId`, or null. */
function replicasProblem(brokerIds: readonly number[], nodeId: number, where: string): AssignmentCheck | null {
  if (brokerIds.length === 0) return invalidAssignment(`the manual replica assignment of ${where} is an empty replica list`);
  const seen = new Set<number>();
  for (const id of brokerIds) {
    if (id !== nodeId) {
      return invalidAssignment(
        `the manual replica assignment of ${where} names broker ${id}, but this is a single broker (node id ${nodeId}): every partition's replicas must be exactly [${nodeId}]`,
      );
    }
    if (seen.has(id)) return invalidAssignment(`the manual replica assignment of ${where} names broker ${id} more than once`);
    seen.add(id);
  }
  return null;
}

/**
 * CreateTopics with a non-empty `assignments`: Kafka requires numPartitions and replicationFactor to be
 * −1 (the assignment gives both), one entry per partition, numbered 0…n−1.
 */
export function checkTopicAssignments(
  assignments: readonly PartitionAssignment[],
  numPartitions: number,
  replicationFactor: number,
  nodeId: number,
): AssignmentCheck {
  // Kafka's messages, word for word: tools and tests match on them.
  if (replicationFactor !== -1) return refused(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but replication factor was not set to -1.');
  if (numPartitions !== -1) return refused(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but numPartitions was not set to -1.');
  const indexes = new Set<number>();
  for (const a of assignments) {
    if (indexes.has(a.partitionIndex)) return invalidAssignment(`Found multiple manual partition assignments for partition ${a.partitionIndex}`);
    indexes.add(a.partitionIndex);
    const problem = replicasProblem(a.brokerIds, nodeId, `partition ${a.partitionIndex}`);
    if (problem !== null) return problem;
  }
  for (let i = 0; i < assignments.length; i++) {
    if (!indexes.has(i)) return invalidAssignment('partitions should be a consecutive 0-based integer sequence');
  }
  return { kind: 'ok', partitions: assignments.length };
}

/** CreatePartitions with `assignments`: one replica list per added partition, each exactly this broker. */
export function checkAddedAssignments(assignments: readonly { readonly brokerIds: readonly number[] }[], current: number, count: number, nodeId: number): AssignmentCheck {
  const additional = count - current;
  if (additional > 0 && assignments.length !== additional) {
    return invalidAssignment(`Attempted to add ${additional} additional partition(s), but only ${assignments.length} assignment(s) were specified.`);
  }
  for (const [i, a] of assignments.entries()) {
    const problem = replicasProblem(a.brokerIds, nodeId, `partition ${current + i}`);
    if (problem !== null) return problem;
  }
  return { kind: 'ok', partitions: count };
}
