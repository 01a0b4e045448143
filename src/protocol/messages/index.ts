import type { ApiSchema } from './schema.js';
import { Produce } from './produce.js';
import { Fetch } from './fetch.js';
import { ListOffsets } from './list-offsets.js';
import { Metadata } from './metadata.js';
import { OffsetCommit } from './offset-commit.js';
import { OffsetFetch } from './offset-fetch.js';
import { FindCoordinator } from './find-coordinator.js';
import { JoinGroup } from './join-group.js';
import { Heartbeat } from './heartbeat.js';
import { LeaveGroup } from './leave-group.js';
import { SyncGroup } from './sync-group.js';
import { DescribeGroups } from './describe-groups.js';
import { ListGroups } from './list-groups.js';
import { SaslHandshake } from './sasl-handshake.js';
import { ApiVersions } from './api-versions.js';
import { CreateTopics } from './create-topics.js';
import { DeleteTopics } from './delete-topics.js';
import { InitProducerId } from './init-producer-id.js';
import { AddPartitionsToTxn } from './add-partitions-to-txn.js';
import { AddOffsetsToTxn } from './add-offsets-to-txn.js';
import { EndTxn } from './end-txn.js';
import { TxnOffsetCommit } from './txn-offset-commit.js';
import { DescribeAcls } from './describe-acls.js';
import { CreateAcls } from './create-acls.js';
import { DeleteAcls } from './delete-acls.js';
import { DescribeConfigs } from './describe-configs.js';
import { AlterConfigs } from './alter-configs.js';
import { SaslAuthenticate } from './sasl-authenticate.js';
import { CreatePartitions } from './create-partitions.js';
import { DeleteGroups } from './delete-groups.js';
import { IncrementalAlterConfigs } from './incremental-alter-configs.js';
import { DescribeUserScramCredentials } from './describe-user-scram-credentials.js';
import { AlterUserScramCredentials } from './alter-user-scram-credentials.js';
import { DescribeCluster } from './describe-cluster.js';
import { DescribeClientQuotas } from './describe-client-quotas.js';
import { AlterClientQuotas } from './alter-client-quotas.js';
import { DescribeTransactions } from './describe-transactions.js';
import { ListTransactions } from './list-transactions.js';

export * from './produce.js';
export * from './fetch.js';
export * from './list-offsets.js';
export * from './metadata.js';
export * from './offset-commit.js';
export * from './offset-fetch.js';
export * from './find-coordinator.js';
export * from './join-group.js';
export * from './heartbeat.js';
export * from './leave-group.js';
export * from './sync-group.js';
export * from './describe-groups.js';
export * from './list-groups.js';
export * from './sasl-handshake.js';
export * from './api-versions.js';
export * from './create-topics.js';
export * from './delete-topics.js';
export * from './init-producer-id.js';
export * from './add-partitions-to-txn.js';
export * from './add-offsets-to-txn.js';
export * from './end-txn.js';
export * from './txn-offset-commit.js';
export * from './describe-acls.js';
export * from './create-acls.js';
export * from './delete-acls.js';
export * from './describe-configs.js';
export * from './alter-configs.js';
export * from './sasl-authenticate.js';
export * from './create-partitions.js';
export * from './delete-groups.js';
export * from './incremental-alter-configs.js';
export * from './describe-user-scram-credentials.js';
export * from './alter-user-scram-credentials.js';
export * from './describe-cluster.js';
export * from './describe-client-quotas.js';
export * from './alter-client-quotas.js';
export * from './describe-transactions.js';
export * from './list-transactions.js';
export * from './schema.js';

/**
 * Every API Parapet decodes and encodes, in API-key order. ApiVersions advertises, with these ranges,
 * only the APIs the broker has a handler for (src/broker/handlers/api-versions.ts): an API here without
 * one is decoded but not served, and a request for it closes the connection.
 */
export const ALL_APIS: readonly ApiSchema[] = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  SaslHandshake,
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  InitProducerId,
  AddPartitionsToTxn,
  AddOffsetsToTxn,
  EndTxn,
  TxnOffsetCommit,
  DescribeAcls,
  CreateAcls,
  DeleteAcls,
  DescribeConfigs,
  AlterConfigs,
  SaslAuthenticate,
  CreatePartitions,
  DeleteGroups,
  IncrementalAlterConfigs,
  DescribeClientQuotas,
  AlterClientQuotas,
  DescribeUserScramCredentials,
  AlterUserScramCredentials,
  DescribeCluster,
  DescribeTransactions,
  ListTransactions,
];

const byKey = new Map<number, ApiSchema>(ALL_APIS.map((a) => [a.apiKey, a]));

export function apiByKey(apiKey: number): ApiSchema | undefined {
  return byKey.get(apiKey);
}
