/**
 * Kafka error codes as data (docs/architecture.md#two-error-families): a wire error is a number a
 * handler puts in a response field, never an exception. One table is the single source; `ErrorCode`
 * and the lookups are derived from it, so a name and its code cannot drift apart.
 *
 * Codes, names and retriable flags follow Apache Kafka's protocol guide
 * (kafka.apache.org/protocol#protocol_error_codes, generated from `Errors.java`): "retriable" means the
 * Java client's exception extends `RetriableException`, which is what the real clients act on
 * (KafkaJS and librdkafka retry those, surface the rest). Descriptions are our own wording.
 */

/** `[code, NAME, retriable, description]`, ordered by code. */
const ROWS = [
  [-1, 'UNKNOWN_SERVER_ERROR', false, 'The broker hit an unexpected error while handling the request.'],
  [0, 'NONE', false, 'No error.'],
  [1, 'OFFSET_OUT_OF_RANGE', false, 'The requested offset lies outside the range of offsets the partition holds.'],
  [2, 'CORRUPT_MESSAGE', true, 'A record failed its CRC check, exceeds the size limit, has no key on a compacted topic, or is otherwise malformed.'],
  [3, 'UNKNOWN_TOPIC_OR_PARTITION', true, 'This broker does not host the topic-partition.'],
  [4, 'INVALID_FETCH_SIZE', false, 'The fetch size in the request is invalid.'],
  [5, 'LEADER_NOT_AVAILABLE', true, 'The partition has no leader right now, typically during a leader election.'],
  [6, 'NOT_LEADER_OR_FOLLOWER', true, 'This broker is not the leader of the partition (for leader-only requests) or not one of its replicas.'],
  [7, 'REQUEST_TIMED_OUT', true, 'The request did not complete in time.'],
  [8, 'BROKER_NOT_AVAILABLE', false, 'The broker is not available.'],
  [9, 'REPLICA_NOT_AVAILABLE', true, 'The replica for the requested partition is not available.'],
  [10, 'MESSAGE_TOO_LARGE', false, 'A message is larger than the broker accepts.'],
  [11, 'STALE_CONTROLLER_EPOCH', false, 'The controller has moved to another broker.'],
  [12, 'OFFSET_METADATA_TOO_LARGE', false, 'The metadata string of a committed offset is too large.'],
  [13, 'NETWORK_EXCEPTION', true, 'The connection closed before a response arrived.'],
  [14, 'COORDINATOR_LOAD_IN_PROGRESS', true, 'The coordinator is still loading its state and cannot serve requests yet.'],
  [15, 'COORDINATOR_NOT_AVAILABLE', true, 'The coordinator is not available.'],
  [16, 'NOT_COORDINATOR', true, 'This broker is not the coordinator for the group or transactional id.'],
  [17, 'INVALID_TOPIC_EXCEPTION', false, 'The request names an invalid topic, or one that may not be used this way.'],
  [18, 'RECORD_LIST_TOO_LARGE', false, 'A record batch is larger than the configured segment size.'],
  [19, 'NOT_ENOUGH_REPLICAS', true, 'Records were rejected because fewer replicas are in sync than required.'],
  [20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', true, 'Records were written, but fewer replicas are in sync than required.'],
  [21, 'INVALID_REQUIRED_ACKS', false, 'The acks value of the produce request is invalid.'],
  [22, 'ILLEGAL_GENERATION', false, 'The group generation id is not the current one.'],
  [23, 'INCONSISTENT_GROUP_PROTOCOL', false, "The member's protocol type or protocols are empty or incompatible with the group's."],
  [24, 'INVALID_GROUP_ID', false, 'The group id is invalid.'],
  [25, 'UNKNOWN_MEMBER_ID', false, 'The coordinator does not know this member.'],
  [26, 'INVALID_SESSION_TIMEOUT', false, 'The session timeout is outside the range the broker allows (group.min/max.session.timeout.ms).'],
  [27, 'REBALANCE_IN_PROGRESS', false, 'The group is rebalancing; the member must rejoin.'],
  [28, 'INVALID_COMMIT_OFFSET_SIZE', false, 'The size of the committed offset data is invalid.'],
  [29, 'TOPIC_AUTHORIZATION_FAILED', false, 'The principal is not authorized for this operation on the topic.'],
  [30, 'GROUP_AUTHORIZATION_FAILED', false, 'The principal is not authorized for this operation on the group.'],
  [31, 'CLUSTER_AUTHORIZATION_FAILED', false, 'The principal is not authorized for this operation on the cluster.'],
  [32, 'INVALID_TIMESTAMP', false, 'A record timestamp is outside the accepted range.'],
  [33, 'UNSUPPORTED_SASL_MECHANISM', false, 'The broker does not offer the requested SASL mechanism.'],
  [34, 'ILLEGAL_SASL_STATE', false, 'The request is not valid in the current SASL state.'],
  [35, 'UNSUPPORTED_VERSION', false, 'The broker does not support this API version.'],
  [36, 'TOPIC_ALREADY_EXISTS', false, 'A topic with this name already exists.'],
  [37, 'INVALID_PARTITIONS', false, 'The number of partitions is invalid.'],
  [38, 'INVALID_REPLICATION_FACTOR', false, 'The replication factor is below 1 or above the number of available brokers.'],
  [39, 'INVALID_REPLICA_ASSIGNMENT', false, 'The replica assignment is invalid.'],
  [40, 'INVALID_CONFIG', false, 'The configuration is invalid.'],
  [41, 'NOT_CONTROLLER', true, 'This broker is not the controller of the cluster.'],
  [42, 'INVALID_REQUEST', false, 'The request is malformed, usually by a client bug or because the broker does not support it; the broker log has details.'],
  [43, 'UNSUPPORTED_FOR_MESSAGE_FORMAT', false, "The broker's message format version does not support the request."],
  [44, 'POLICY_VIOLATION', false, 'The request parameters violate a configured policy.'],
  [45, 'OUT_OF_ORDER_SEQUENCE_NUMBER', false, 'The broker received a producer sequence number out of order.'],
  [46, 'DUPLICATE_SEQUENCE_NUMBER', false, 'The broker received a producer sequence number it has already seen.'],
  [47, 'INVALID_PRODUCER_EPOCH', false, 'The producer used an epoch older than the current one.'],
  [48, 'INVALID_TXN_STATE', false, 'The transactional operation is not valid in the current transaction state.'],
  [49, 'INVALID_PRODUCER_ID_MAPPING', false, 'The producer id is not the one currently assigned to this transactional id.'],
  [50, 'INVALID_TRANSACTION_TIMEOUT', false, 'The transaction timeout exceeds the maximum the broker allows (transaction.max.timeout.ms).'],
  [51, 'CONCURRENT_TRANSACTIONS', true, 'Another operation on the same transaction is still in progress.'],
  [52, 'TRANSACTION_COORDINATOR_FENCED', false, "The transaction coordinator sending transaction markers is no longer the producer's coordinator."],
  [53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', false, 'The principal is not authorized for this transactional id.'],
  [54, 'SECURITY_DISABLED', false, 'Security features are disabled on the broker.'],
  [55, 'OPERATION_NOT_ATTEMPTED', false, 'The broker skipped this operation because another one in the same batched request failed.'],
  [56, 'KAFKA_STORAGE_ERROR', true, 'A disk error occurred while accessing the log.'],
  [57, 'LOG_DIR_NOT_FOUND', false, "The requested log directory is not in the broker's configuration."],
  [58, 'SASL_AUTHENTICATION_FAILED', false, 'SASL authentication failed.'],
  [59, 'UNKNOWN_PRODUCER_ID', false, 'The broker has no state for this producer id, for example because retention removed its records.'],
  [60, 'REASSIGNMENT_IN_PROGRESS', false, 'A partition reassignment is in progress.'],
  [61, 'DELEGATION_TOKEN_AUTH_DISABLED', false, 'Delegation tokens are not enabled.'],
  [62, 'DELEGATION_TOKEN_NOT_FOUND', false, 'The delegation token does not exist on the broker.'],
  [63, 'DELEGATION_TOKEN_OWNER_MISMATCH', false, "The principal is not the token's owner or renewer."],
  [64, 'DELEGATION_TOKEN_REQUEST_NOT_ALLOWED', false, 'Delegation token requests are refused on plaintext, one-way TLS and token-authenticated connections.'],
  [65, 'DELEGATION_TOKEN_AUTHORIZATION_FAILED', false, 'The principal is not authorized for this delegation token operation.'],
  [66, 'DELEGATION_TOKEN_EXPIRED', false, 'The delegation token has expired.'],
  [67, 'INVALID_PRINCIPAL_TYPE', false, 'The principal type is not supported.'],
  [68, 'NON_EMPTY_GROUP', false, 'The group still has members.'],
  [69, 'GROUP_ID_NOT_FOUND', false, 'The group does not exist.'],
  [70, 'FETCH_SESSION_ID_NOT_FOUND', true, 'The fetch session does not exist.'],
  [71, 'INVALID_FETCH_SESSION_EPOCH', true, 'The fetch session epoch is not the expected one.'],
  [72, 'LISTENER_NOT_FOUND', true, 'The partition leader has no listener matching the one this metadata request arrived on.'],
  [73, 'TOPIC_DELETION_DISABLED', false, 'Topic deletion is disabled.'],
  [74, 'FENCED_LEADER_EPOCH', true, "The leader epoch in the request is older than the broker's."],
  [75, 'UNKNOWN_LEADER_EPOCH', true, "The leader epoch in the request is newer than the broker's."],
  [76, 'UNSUPPORTED_COMPRESSION_TYPE', false, "The client does not support the partition's compression type."],
  [77, 'STALE_BROKER_EPOCH', false, 'The broker epoch has changed.'],
  [78, 'OFFSET_NOT_AVAILABLE', true, 'A new leader has not caught up its high watermark yet, so offsets cannot be served safely.'],
  [79, 'MEMBER_ID_REQUIRED', false, 'The member must rejoin with the member id the coordinator assigned.'],
  [80, 'PREFERRED_LEADER_NOT_AVAILABLE', true, 'The preferred leader is not available.'],
  [81, 'GROUP_MAX_SIZE_REACHED', false, 'The group has reached its maximum size.'],
  [82, 'FENCED_INSTANCE_ID', false, 'Another member registered with the same group.instance.id under a different member id.'],
  [83, 'ELIGIBLE_LEADERS_NOT_AVAILABLE', true, 'No eligible leader is available for the partition.'],
  [84, 'ELECTION_NOT_NEEDED', true, 'The partition does not need a leader election.'],
  [85, 'NO_REASSIGNMENT_IN_PROGRESS', false, 'No partition reassignment is in progress.'],
  [86, 'GROUP_SUBSCRIBED_TO_TOPIC', false, "A topic's offsets cannot be deleted while the group is subscribed to it."],
  [87, 'INVALID_RECORD', false, "The record failed the broker's validation."],
  [88, 'UNSTABLE_OFFSET_COMMIT', true, 'Pending transactional offsets must be resolved first.'],
  [89, 'THROTTLING_QUOTA_EXCEEDED', true, 'The throttling quota was exceeded.'],
  [90, 'PRODUCER_FENCED', false, 'A newer producer with the same transactional id has fenced this one.'],
  [91, 'RESOURCE_NOT_FOUND', false, 'The request refers to a resource that does not exist.'],
  [92, 'DUPLICATE_RESOURCE', false, 'The request names the same resource more than once.'],
  [93, 'UNACCEPTABLE_CREDENTIAL', false, 'The requested credential does not meet the acceptance criteria.'],
  [94, 'INCONSISTENT_VOTER_SET', false, 'The sender or receiver of a voter-only request is not an expected voter.'],
  [95, 'INVALID_UPDATE_VERSION', false, 'The update version is invalid.'],
  [96, 'FEATURE_UPDATE_FAILED', false, 'The finalized features could not be updated because of an unexpected error.'],
  [97, 'PRINCIPAL_DESERIALIZATION_FAILURE', false, 'The forwarded request principal could not be deserialized.'],
  [98, 'SNAPSHOT_NOT_FOUND', false, 'The requested snapshot does not exist.'],
  [99, 'POSITION_OUT_OF_RANGE', false, 'The requested snapshot position is negative or past its end.'],
  [100, 'UNKNOWN_TOPIC_ID', true, 'This broker does not host a topic with this id.'],
  [101, 'DUPLICATE_BROKER_REGISTRATION', false, 'This broker id is already in use.'],
  [102, 'BROKER_ID_NOT_REGISTERED', false, 'The broker id is not registered.'],
  [103, 'INCONSISTENT_TOPIC_ID', true, "The topic id in the request does not match the log's."],
  [104, 'INCONSISTENT_CLUSTER_ID', false, "The cluster id in the request does not match the broker's."],
  [105, 'TRANSACTIONAL_ID_NOT_FOUND', false, 'The transactional id does not exist.'],
  [106, 'FETCH_SESSION_TOPIC_ID_ERROR', true, 'The fetch session used topic ids inconsistently.'],
  [107, 'INELIGIBLE_REPLICA', false, 'The new in-sync replica set contains an ineligible replica.'],
  [108, 'NEW_LEADER_ELECTED', false, 'The partition state was updated, but the leader has changed.'],
  [109, 'OFFSET_MOVED_TO_TIERED_STORAGE', false, 'The requested offset has moved to tiered storage.'],
  [110, 'FENCED_MEMBER_EPOCH', false, 'The member epoch is fenced; the member must give up its partitions and rejoin.'],
  [111, 'UNRELEASED_INSTANCE_ID', false, 'Another member still holds this instance id and must leave first.'],
  [112, 'UNSUPPORTED_ASSIGNOR', false, 'The group does not support the assignor or its version range.'],
  [113, 'STALE_MEMBER_EPOCH', false, 'The member epoch is stale; the member must retry with the epoch from its next heartbeat.'],
  [114, 'MISMATCHED_ENDPOINT_TYPE', false, 'The request reached an endpoint of the wrong type.'],
  [115, 'UNSUPPORTED_ENDPOINT_TYPE', false, 'This endpoint type is not supported yet.'],
  [116, 'UNKNOWN_CONTROLLER_ID', false, 'The controller id is not known.'],
  [117, 'UNKNOWN_SUBSCRIPTION_ID', false, 'The telemetry subscription id is invalid or outdated.'],
  [118, 'TELEMETRY_TOO_LARGE', false, 'The telemetry push is larger than the broker accepts.'],
  [119, 'INVALID_REGISTRATION', false, 'The controller considers the broker registration invalid.'],
  [120, 'TRANSACTION_ABORTABLE', false, 'The transaction hit an error; aborting it lets the transactional id be used again.'],
  [121, 'INVALID_RECORD_STATE', false, 'The record state is invalid, so its delivery could not be acknowledged.'],
  [122, 'SHARE_SESSION_NOT_FOUND', true, 'The share session does not exist.'],
  [123, 'INVALID_SHARE_SESSION_EPOCH', true, 'The share session epoch is not the expected one.'],
  [124, 'FENCED_STATE_EPOCH', false, 'The share-group state epoch does not match the share coordinator.'],
  [125, 'INVALID_VOTER_KEY', false, "The voter key does not match the receiving replica's key."],
  [126, 'DUPLICATE_VOTER', false, 'The voter is already in the voter set.'],
  [127, 'VOTER_NOT_FOUND', false, 'The voter is not in the voter set.'],
] as const satisfies readonly (readonly [number, string, boolean, string])[];

type Row = (typeof ROWS)[number];

export type ErrorCodeName = Row[1];
export type ErrorCodeValue = Row[0];

export interface ErrorCodeInfo {
  readonly name: ErrorCodeName;
  readonly code: ErrorCodeValue;
  /** Kafka's flag: the client may retry the same request unchanged and expect it to succeed eventually. */
  readonly retriable: boolean;
  readonly message: string;
}

/** NAME → code, e.g. `ErrorCode.TOPIC_AUTHORIZATION_FAILED === 29`; each value keeps its literal type. */
export const ErrorCode = Object.freeze(Object.fromEntries(ROWS.map(([code, name]) => [name, code]))) as {
  readonly [R in Row as R[1]]: R[0];
};

/** Every known code, ordered by code. */
export const ERROR_CODES: readonly ErrorCodeInfo[] = Object.freeze(
  ROWS.map(([code, name, retriable, message]) => Object.freeze({ name, code, retriable, message })),
);

const BY_CODE: ReadonlyMap<number, ErrorCodeInfo> = new Map(ERROR_CODES.map((info) => [info.code, info]));

/** The entry for a code, or `undefined` for a code this table does not know (a newer Kafka's, or garbage). */
export function errorByCode(code: number): ErrorCodeInfo | undefined {
  return BY_CODE.get(code);
}

/** Unknown codes count as not retriable, as the Java client treats them (`UNKNOWN_SERVER_ERROR`). */
export function isRetriable(code: number): boolean {
  return BY_CODE.get(code)?.retriable ?? false;
}
