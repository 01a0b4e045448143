/**
 * Policies of the admin APIs: topics, configs, ACLs, SCRAM credentials and DescribeCluster, with Apache
 * Kafka's semantics (KafkaApis and AclApis). Cluster-wide operations are checked on the one CLUSTER
 * resource, `kafka-cluster`.
 */
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../../../protocol/acl.js';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { entryOf, errorEntry, errorResponse } from '../../../protocol/error-responses.js';
import { AlterClientQuotas } from '../../../protocol/messages/alter-client-quotas.js';
import { AlterConfigs } from '../../../protocol/messages/alter-configs.js';
import { AlterUserScramCredentials } from '../../../protocol/messages/alter-user-scram-credentials.js';
import { CreateAcls } from '../../../protocol/messages/create-acls.js';
import { CreatePartitions } from '../../../protocol/messages/create-partitions.js';
import { CreateTopics, type CreateTopicsRequest, type CreateTopicsResponse } from '../../../protocol/messages/create-topics.js';
import { DeleteAcls } from '../../../protocol/messages/delete-acls.js';
import { DeleteTopics, type DeleteTopicsResponse } from '../../../protocol/messages/delete-topics.js';
import { DescribeAcls } from '../../../protocol/messages/describe-acls.js';
import { DescribeClientQuotas } from '../../../protocol/messages/describe-client-quotas.js';
import { DescribeCluster } from '../../../protocol/messages/describe-cluster.js';
import { DescribeConfigs, type DescribeConfigsResponse } from '../../../protocol/messages/describe-configs.js';
import { DescribeUserScramCredentials } from '../../../protocol/messages/describe-user-scram-credentials.js';
import { IncrementalAlterConfigs } from '../../../protocol/messages/incremental-alter-configs.js';
import { definePolicy, denialMessage, mergeInOrder, split } from './support.js';
import type { AuthzCheck, CheckOptions } from './types.js';

const { TOPIC, GROUP, CLUSTER } = ResourceType;
const topicDenied = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const clusterDenied = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const onCluster = (check: AuthzCheck, operation: AclOperation, options?: CheckOptions) =>
  check.allowed(operation, CLUSTER, CLUSTER_RESOURCE_NAME, options);

type CreatableTopic = CreateTopicsRequest['topics'][number];
type CreatedTopic = CreateTopicsResponse['topics'][number];

const CREATED_TOPIC = entryOf(CreateTopics.response.fields.topics);
const deniedCreatedTopic = (topic: CreatableTopic): CreatedTopic => errorEntry(CREATED_TOPIC, topicDenied, { name: topic.name });

/**
 * CreateTopics: CREATE on the cluster, or else on each topic (29). The cluster check is not audited
 * when denied (Kafka: logIfDenied = false): the per-topic grant is the usual one.
 */
export const createTopicsPolicy = definePolicy(CreateTopics, (body, _version, check) => {
  if (onCluster(check, AclOperation.CREATE, { logIfDenied: false, role: 'alternative' })) return { kind: 'forward', body };
  const { mask, allowed, denied } = split(body.topics, (t) => check.allowed(AclOperation.CREATE, TOPIC, t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly CreatedTopic[]) => mergeInOrder(body.topics, mask, handled, deniedCreatedTopic);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

type DeletedTopic = DeleteTopicsResponse['responses'][number];

const DELETED_TOPIC = entryOf(DeleteTopics.response.fields.responses);
const deniedDeletedTopic = (name: string | null, topicId: string): DeletedTopic => errorEntry(DELETED_TOPIC, topicDenied, { name, topicId });

/**
 * DeleteTopics: DELETE on each topic (29). An entry naming only a topic id (v6) cannot be checked by
 * name here, as the policy cannot resolve ids: it is allowed only with DELETE on the cluster (which
 * only ALL on the cluster grants, an administrator's grant anyway) and refused with 29 otherwise.
 * Resolving ids to names before the check is the way to Kafka's rule once topic ids are served.
 */
export const deleteTopicsPolicy = definePolicy(DeleteTopics, (body, version, check) => {
  if (version < 6) {
    const names = body.topicNames ?? [];
    const { mask, allowed, denied } = split(names, (name) => check.allowed(AclOperation.DELETE, TOPIC, name));
    if (denied.length === 0) return { kind: 'forward', body };
    const merge = (handled: readonly DeletedTopic[]) => mergeInOrder(names, mask, handled, (name) => deniedDeletedTopic(name, ZERO_UUID));
    if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
    return { kind: 'forward', body: { ...body, topicNames: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
  }
  const topics = body.topics ?? [];
  const { mask, allowed, denied } = split(topics, (t) =>
    t.name === null || t.name === undefined ? onCluster(check, AclOperation.DELETE) : check.allowed(AclOperation.DELETE, TOPIC, t.name),
  );
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly DeletedTopic[]) =>
    mergeInOrder(topics, mask, handled, (t) => deniedDeletedTopic(t.name ?? null, t.topicId ?? ZERO_UUID));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
});

const CREATE_PARTITIONS_RESULT = entryOf(CreatePartitions.response.fields.results);

/** CreatePartitions: ALTER on each topic (29). */
export const createPartitionsPolicy = definePolicy(CreatePartitions, (body, _version, check) => {
  const { mask, allowed, denied } = split(body.topics, (t) => check.allowed(AclOperation.ALTER, TOPIC, t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly { name: string; errorCode: number; errorMessage?: string | null }[]) =>
    mergeInOrder(body.topics, mask, handled, (t) => errorEntry(CREATE_PARTITIONS_RESULT, topicDenied, { name: t.name }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

/**
 * Config resource types (Kafka's ConfigResource.Type) and the ACL resource each is checked on: topics by
 * name, groups by name (KIP-848 group configs), the broker, its loggers and client metrics on the cluster.
 */
const CONFIG_RESOURCES: ReadonlyMap<number, { readonly resourceType: ResourceType; readonly errorCode: number; readonly byName: boolean }> = new Map([
  [2, { resourceType: TOPIC, errorCode: topicDenied, byName: true }],
  [4, { resourceType: CLUSTER, errorCode: clusterDenied, byName: false }],
  [8, { resourceType: CLUSTER, errorCode: clusterDenied, byName: false }],
  [16, { resourceType: CLUSTER, errorCode: clusterDenied, byName: false }],
  [32, { resourceType: GROUP, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, byName: true }],
]);

interface ConfigResourceRef {
  readonly resourceType: number;
  readonly resourceName: string;
}
interface ConfigDenial {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly resourceType: number;
  readonly resourceName: string;
}

/**
 * Splits config resources by `operation` on what each names. A resource type this broker does not know
 * names nothing that could be authorized, so it is refused with INVALID_REQUEST (Kafka refuses it too)
 * instead of reaching the handler unchecked.
 */
function splitConfigResources<R extends ConfigResourceRef>(resources: readonly R[], operation: AclOperation, check: AuthzCheck) {
  const parts = split(resources, (r) => {
    const target = CONFIG_RESOURCES.get(r.resourceType);
    return target !== undefined && check.allowed(operation, target.resourceType, target.byName ? r.resourceName : CLUSTER_RESOURCE_NAME);
  });
  const denialOf = (r: R): ConfigDenial => {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    const target = CONFIG_RESOURCES.get(r.resourceType);
    if (target === undefined) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `config resource type ${r.resourceType} is not supported` };
    return { ...base, errorCode: target.errorCode, errorMessage: denialMessage(target.errorCode) };
  };
  return { ...parts, denialOf };
}

type DescribedConfigs = DescribeConfigsResponse['results'][number];

/** DescribeConfigs: DESCRIBE_CONFIGS on the topic (29), group (30) or, for the broker, the cluster (31). */
export const describeConfigsPolicy = definePolicy(DescribeConfigs, (body, _version, check) => {
  const { mask, allowed, denied, denialOf } = splitConfigResources(body.resources, AclOperation.DESCRIBE_CONFIGS, check);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly DescribedConfigs[]) => mergeInOrder(body.resources, mask, handled, (r) => ({ ...denialOf(r), configs: [] }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results: merge([]) } };
  return { kind: 'forward', body: { ...body, resources: allowed }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

/** AlterConfigs: ALTER_CONFIGS on the topic (29), group (30) or, for the broker, the cluster (31). */
export const alterConfigsPolicy = definePolicy(AlterConfigs, (body, _version, check) => {
  const { mask, allowed, denied, denialOf } = splitConfigResources(body.resources, AclOperation.ALTER_CONFIGS, check);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly ConfigDenial[]) => mergeInOrder(body.resources, mask, handled, denialOf);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return { kind: 'forward', body: { ...body, resources: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
});

/** IncrementalAlterConfigs: as AlterConfigs. */
export const incrementalAlterConfigsPolicy = definePolicy(IncrementalAlterConfigs, (body, _version, check) => {
  const { mask, allowed, denied, denialOf } = splitConfigResources(body.resources, AclOperation.ALTER_CONFIGS, check);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly ConfigDenial[]) => mergeInOrder(body.resources, mask, handled, denialOf);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return { kind: 'forward', body: { ...body, resources: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
});

/** DescribeCluster: no check; Kafka answers it to any authenticated principal. */
export const describeClusterPolicy = definePolicy(DescribeCluster, (body) => ({ kind: 'forward', body }));

/** CreateAcls: ALTER on the cluster, else every creation fails with 31. */
export const createAclsPolicy = definePolicy(CreateAcls, (body, _version, check) => {
  if (onCluster(check, AclOperation.ALTER)) return { kind: 'forward', body };
  const denied = entryOf(CreateAcls.response.fields.results);
  return { kind: 'respond', response: errorResponse(CreateAcls, clusterDenied, { results: body.creations.map(() => errorEntry(denied, clusterDenied)) }) };
});

/** DeleteAcls: ALTER on the cluster, else every filter fails with 31 and matches nothing. */
export const deleteAclsPolicy = definePolicy(DeleteAcls, (body, _version, check) => {
  if (onCluster(check, AclOperation.ALTER)) return { kind: 'forward', body };
  const denied = entryOf(DeleteAcls.response.fields.filterResults);
  return { kind: 'respond', response: errorResponse(DeleteAcls, clusterDenied, { filterResults: body.filters.map(() => errorEntry(denied, clusterDenied)) }) };
});

/** DescribeAcls: DESCRIBE on the cluster, else 31 and no bindings. */
export const describeAclsPolicy = definePolicy(DescribeAcls, (body, _version, check) =>
  onCluster(check, AclOperation.DESCRIBE) ? { kind: 'forward', body } : { kind: 'respond', response: errorResponse(DescribeAcls, clusterDenied) },
);

/** DescribeUserScramCredentials: DESCRIBE on the cluster, else 31 at the top level and no results. */
export const describeUserScramCredentialsPolicy = definePolicy(DescribeUserScramCredentials, (body, _version, check) =>
  onCluster(check, AclOperation.DESCRIBE) ? { kind: 'forward', body } : { kind: 'respond', response: errorResponse(DescribeUserScramCredentials, clusterDenied) },
);

/**
 * AlterUserScramCredentials: ALTER on the cluster, else 31 for each user named, once per user in name
 * order (Kafka's `AlterUserScramCredentialsRequest.getErrorResponse`).
 */
export const alterUserScramCredentialsPolicy = definePolicy(AlterUserScramCredentials, (body, _version, check) => {
  if (onCluster(check, AclOperation.ALTER)) return { kind: 'forward', body };
  const users = [...new Set([...body.deletions, ...body.upsertions].map((c) => c.name))].sort();
  const denied = entryOf(AlterUserScramCredentials.response.fields.results);
  return { kind: 'respond', response: errorResponse(AlterUserScramCredentials, clusterDenied, { results: users.map((user) => errorEntry(denied, clusterDenied, { user })) }) };
});

/** DescribeClientQuotas: DESCRIBE_CONFIGS on the cluster, else 31 at the top level and no entries (Kafka's KafkaApis). */
export const describeClientQuotasPolicy = definePolicy(DescribeClientQuotas, (body, _version, check) =>
  onCluster(check, AclOperation.DESCRIBE_CONFIGS)
    ? { kind: 'forward', body }
    : { kind: 'respond', response: errorResponse(DescribeClientQuotas, clusterDenied, { errorMessage: denialMessage(clusterDenied), entries: null }) },
);

/** AlterClientQuotas: ALTER_CONFIGS on the cluster, else 31 for every entry. */
export const alterClientQuotasPolicy = definePolicy(AlterClientQuotas, (body, _version, check) => {
  if (onCluster(check, AclOperation.ALTER_CONFIGS)) return { kind: 'forward', body };
  const denied = entryOf(AlterClientQuotas.response.fields.entries);
  return {
    kind: 'respond',
    response: errorResponse(AlterClientQuotas, clusterDenied, {
      entries: body.entries.map((e) => errorEntry(denied, clusterDenied, { entity: e.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName })) })),
    }),
  };
});

export const ADMIN_POLICIES = [
  createTopicsPolicy,
  deleteTopicsPolicy,
  createPartitionsPolicy,
  describeConfigsPolicy,
  alterConfigsPolicy,
  incrementalAlterConfigsPolicy,
  describeClusterPolicy,
  createAclsPolicy,
  deleteAclsPolicy,
  describeAclsPolicy,
  describeUserScramCredentialsPolicy,
  alterUserScramCredentialsPolicy,
  describeClientQuotasPolicy,
  alterClientQuotasPolicy,
] as const;
