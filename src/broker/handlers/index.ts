/**
 * Every API the broker serves, registered once: its schema and the handler built for it, in one table.
 * ApiVersions advertises exactly this table. Each API's authorization policy is registered apart, by
 * API key, in src/security/authz/policies/index.ts (security does not import the broker), and a test
 * holds the two lists to each other.
 */
import type { GroupCoordinator } from '../../groups/coordinator.js';
import type { OffsetManager } from '../../groups/offsets.js';
import type { Logger } from '../../logger.js';
import type { TransactionCoordinator } from '../../transactions/transaction-coordinator.js';
import { AddOffsetsToTxn } from '../../protocol/messages/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../protocol/messages/add-partitions-to-txn.js';
import { AlterClientQuotas } from '../../protocol/messages/alter-client-quotas.js';
import { AlterConfigs } from '../../protocol/messages/alter-configs.js';
import { AlterUserScramCredentials } from '../../protocol/messages/alter-user-scram-credentials.js';
import { ApiVersions } from '../../protocol/messages/api-versions.js';
import { CreateAcls } from '../../protocol/messages/create-acls.js';
import { CreatePartitions } from '../../protocol/messages/create-partitions.js';
import { CreateTopics } from '../../protocol/messages/create-topics.js';
import { DeleteAcls } from '../../protocol/messages/delete-acls.js';
import { DeleteGroups } from '../../protocol/messages/delete-groups.js';
import { DeleteTopics } from '../../protocol/messages/delete-topics.js';
import { DescribeAcls } from '../../protocol/messages/describe-acls.js';
import { DescribeClientQuotas } from '../../protocol/messages/describe-client-quotas.js';
import { DescribeCluster } from '../../protocol/messages/describe-cluster.js';
import { DescribeConfigs } from '../../protocol/messages/describe-configs.js';
import { DescribeGroups } from '../../protocol/messages/describe-groups.js';
import { DescribeTransactions } from '../../protocol/messages/describe-transactions.js';
import { EndTxn } from '../../protocol/messages/end-txn.js';
import { DescribeUserScramCredentials } from '../../protocol/messages/describe-user-scram-credentials.js';
import { Fetch } from '../../protocol/messages/fetch.js';
import { FindCoordinator } from '../../protocol/messages/find-coordinator.js';
import { Heartbeat } from '../../protocol/messages/heartbeat.js';
import { IncrementalAlterConfigs } from '../../protocol/messages/incremental-alter-configs.js';
import { InitProducerId } from '../../protocol/messages/init-producer-id.js';
import { JoinGroup } from '../../protocol/messages/join-group.js';
import { LeaveGroup } from '../../protocol/messages/leave-group.js';
import { ListGroups } from '../../protocol/messages/list-groups.js';
import { ListOffsets } from '../../protocol/messages/list-offsets.js';
import { ListTransactions } from '../../protocol/messages/list-transactions.js';
import { Metadata } from '../../protocol/messages/metadata.js';
import { OffsetCommit } from '../../protocol/messages/offset-commit.js';
import { OffsetFetch } from '../../protocol/messages/offset-fetch.js';
import { Produce } from '../../protocol/messages/produce.js';
import { SaslAuthenticate } from '../../protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../../protocol/messages/sasl-handshake.js';
import type { ApiSchema } from '../../protocol/messages/schema.js';
import { SyncGroup } from '../../protocol/messages/sync-group.js';
import { TxnOffsetCommit } from '../../protocol/messages/txn-offset-commit.js';
import type { AclStore } from '../../security/authz/acl-store.js';
import type { HandlerEntry } from '../../server/handler.js';
import type { LogStore } from '../../storage/log-store.js';
import type { ProducerIdStore } from '../../storage/producer-ids.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';
import type { QuotaManager } from '../../quotas/quota-manager.js';
import type { AclChangeListener } from './acl-changes.js';
import { alterClientQuotasHandler } from './alter-client-quotas.js';
import { alterConfigsHandler } from './alter-configs.js';
import { alterUserScramCredentialsHandler, type AlterScramCredentialsDeps } from './alter-user-scram-credentials.js';
import { apiVersionsHandler } from './api-versions.js';
import type { ClusterIdentity } from './cluster-identity.js';
import { createAclsHandler } from './create-acls.js';
import { createPartitionsHandler } from './create-partitions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteAclsHandler } from './delete-acls.js';
import { deleteGroupsHandler } from './delete-groups.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { describeAclsHandler } from './describe-acls.js';
import { describeClientQuotasHandler } from './describe-client-quotas.js';
import { describeClusterHandler } from './describe-cluster.js';
import { describeConfigsHandler } from './describe-configs.js';
import type { BrokerConfigEntry } from '../broker-configs.js';
import { describeGroupsHandler } from './describe-groups.js';
import { describeUserScramCredentialsHandler } from './describe-user-scram-credentials.js';
import { fetchHandler, type FetchDeps } from './fetch/fetch.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { heartbeatHandler } from './heartbeat.js';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { joinGroupHandler } from './join-group.js';
import { leaveGroupHandler } from './leave-group.js';
import { listGroupsHandler } from './list-groups.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { offsetCommitHandler } from './offset-commit.js';
import { offsetFetchHandler } from './offset-fetch.js';
import { produceHandler } from './produce.js';
import { saslAuthenticateHandler } from './sasl-authenticate.js';
import { saslHandshakeHandler } from './sasl-handshake.js';
import { syncGroupHandler } from './sync-group.js';
import { addOffsetsToTxnHandler, addPartitionsToTxnHandler, describeTransactionsHandler, endTxnHandler, listTransactionsHandler } from './transactions.js';
import { txnOffsetCommitHandler } from './txn-offset-commit.js';

/** What the handlers work on: the broker's services, built once by the broker. */
export interface HandlerDeps {
  readonly identity: ClusterIdentity;
  /** Create unknown topics named in Metadata requests. */
  readonly autoCreateTopics: boolean;
  readonly logger: Logger;
  readonly logs: LogStore;
  readonly topics: TopicAdmin;
  readonly producerIds: ProducerIdStore;
  readonly fetch: FetchDeps;
  readonly groups: GroupCoordinator;
  readonly offsets: OffsetManager;
  readonly transactions: TransactionCoordinator;
  readonly acls: AclStore;
  /** Told of every ACL change (the audit log). */
  readonly onAclChange: AclChangeListener;
  /** The SCRAM users, the names they may not take and who is told of changes (the audit log). */
  readonly scram: AlterScramCredentialsDeps;
  /** Client quotas: their settings and measures. */
  readonly quotas: QuotaManager;
  /** The broker's settings as DescribeConfigs shows them for resource BROKER (read when asked: a reload changes them). */
  readonly brokerConfigs: () => readonly BrokerConfigEntry[];
}

interface Registration {
  readonly api: ApiSchema;
  /** Builds the API's handler; `served` lists every handler of the table (what ApiVersions advertises). */
  readonly build: (deps: HandlerDeps, served: () => readonly HandlerEntry[]) => HandlerEntry;
}

const API_HANDLERS: readonly Registration[] = [
  // Before authentication (src/security/pre-authentication.ts): versions and SASL.
  { api: ApiVersions, build: (_, served) => apiVersionsHandler(served) },
  { api: SaslHandshake, build: () => saslHandshakeHandler() },
  { api: SaslAuthenticate, build: () => saslAuthenticateHandler() },
  // The cluster: this broker alone.
  { api: Metadata, build: (d) => metadataHandler(d.identity, d.topics, d.autoCreateTopics) },
  { api: DescribeCluster, build: (d) => describeClusterHandler(d.identity) },
  // Records.
  { api: Produce, build: (d) => produceHandler({ logs: d.logs, logger: d.logger }) },
  { api: InitProducerId, build: (d) => initProducerIdHandler({ ids: d.producerIds, transactions: d.transactions, logger: d.logger }) },
  { api: Fetch, build: (d) => fetchHandler(d.fetch) },
  { api: ListOffsets, build: (d) => listOffsetsHandler(d.logs) },
  // Consumer groups and their committed offsets.
  { api: FindCoordinator, build: (d) => findCoordinatorHandler(d.identity.nodeId) },
  { api: JoinGroup, build: (d) => joinGroupHandler(d.groups) },
  { api: SyncGroup, build: (d) => syncGroupHandler(d.groups) },
  { api: Heartbeat, build: (d) => heartbeatHandler(d.groups) },
  { api: LeaveGroup, build: (d) => leaveGroupHandler(d.groups) },
  { api: DescribeGroups, build: (d) => describeGroupsHandler(d.groups) },
  { api: ListGroups, build: (d) => listGroupsHandler(d.groups) },
  { api: DeleteGroups, build: (d) => deleteGroupsHandler(d.groups) },
  { api: OffsetCommit, build: (d) => offsetCommitHandler(d.offsets) },
  { api: OffsetFetch, build: (d) => offsetFetchHandler(d.offsets, (g, t, p) => d.transactions.hasPendingOffset(g, t, p)) },
  // Transactions (KIP-98): the coordinator's APIs, and the operators'.
  { api: AddPartitionsToTxn, build: (d) => addPartitionsToTxnHandler(d) },
  { api: AddOffsetsToTxn, build: (d) => addOffsetsToTxnHandler(d) },
  { api: EndTxn, build: (d) => endTxnHandler(d) },
  { api: TxnOffsetCommit, build: (d) => txnOffsetCommitHandler(d.offsets, d.transactions) },
  { api: DescribeTransactions, build: (d) => describeTransactionsHandler(d) },
  { api: ListTransactions, build: (d) => listTransactionsHandler(d) },
  // Topics and their configs.
  { api: CreateTopics, build: (d) => createTopicsHandler(d.topics) },
  { api: DeleteTopics, build: (d) => deleteTopicsHandler(d.topics) },
  { api: CreatePartitions, build: (d) => createPartitionsHandler(d.topics) },
  { api: DescribeConfigs, build: (d) => describeConfigsHandler(d.topics, d.identity.nodeId, d.brokerConfigs) },
  { api: AlterConfigs, build: (d) => alterConfigsHandler(d.topics) },
  { api: IncrementalAlterConfigs, build: (d) => incrementalAlterConfigsHandler(d.topics) },
  // Security administration: ACLs and SCRAM users.
  { api: CreateAcls, build: (d) => createAclsHandler(d.acls, d.onAclChange) },
  { api: DescribeAcls, build: (d) => describeAclsHandler(d.acls) },
  { api: DeleteAcls, build: (d) => deleteAclsHandler(d.acls, d.onAclChange) },
  { api: DescribeUserScramCredentials, build: (d) => describeUserScramCredentialsHandler(d.scram.credentials) },
  { api: AlterUserScramCredentials, build: (d) => alterUserScramCredentialsHandler(d.scram) },
  // Client quotas.
  { api: DescribeClientQuotas, build: (d) => describeClientQuotasHandler(d.quotas) },
  { api: AlterClientQuotas, build: (d) => alterClientQuotasHandler(d.quotas) },
];

/** The handler of every served API, by API key. Throws on a table that registers an API twice or builds the wrong API's handler. */
export function brokerHandlers(deps: HandlerDeps): ReadonlyMap<number, HandlerEntry> {
  const handlers = new Map<number, HandlerEntry>();
  const served = () => [...handlers.values()];
  for (const { api, build } of API_HANDLERS) {
    if (handlers.has(api.apiKey)) throw new Error(`${api.name} (${api.apiKey}) is registered twice`);
    const entry = build(deps, served);
    if (entry.api !== api) throw new Error(`the handler registered for ${api.name} serves ${entry.api.name}`);
    handlers.set(api.apiKey, entry);
  }
  return handlers;
}
