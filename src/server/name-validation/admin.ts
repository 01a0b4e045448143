/**
 * Names in the admin APIs: topics (17, as Kafka's CreateTopics and DescribeConfigs answer a name
 * `Topic.validate` refuses), groups (24), other config resources and ACL bindings and filters
 * (INVALID_REQUEST, 42, Kafka's code for a malformed binding), config names (INVALID_CONFIG, 40) and
 * SCRAM user names (UNACCEPTABLE_CREDENTIAL, 93, Kafka's code for an unusable user name).
 */
import { PatternType } from '../../protocol/acl.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AlterConfigs } from '../../protocol/messages/alter-configs.js';
import { AlterUserScramCredentials, type AlterUserScramCredentialsResponse } from '../../protocol/messages/alter-user-scram-credentials.js';
import { CreateAcls } from '../../protocol/messages/create-acls.js';
import { CreatePartitions } from '../../protocol/messages/create-partitions.js';
import { CreateTopics, type CreateTopicsRequest, type CreateTopicsResponse } from '../../protocol/messages/create-topics.js';
import { DeleteAcls } from '../../protocol/messages/delete-acls.js';
import { DeleteTopics, type DeleteTopicsResponse } from '../../protocol/messages/delete-topics.js';
import { DescribeAcls } from '../../protocol/messages/describe-acls.js';
import { DescribeCluster } from '../../protocol/messages/describe-cluster.js';
import { DescribeConfigs, type DescribeConfigsResponse } from '../../protocol/messages/describe-configs.js';
import { DescribeUserScramCredentials, type DescribeUserScramCredentialsResponse } from '../../protocol/messages/describe-user-scram-credentials.js';
import { IncrementalAlterConfigs } from '../../protocol/messages/incremental-alter-configs.js';
import {
  MAX_CONFIG_NAME_LENGTH,
  MAX_EXISTING_USER_NAME_LENGTH,
  MAX_PRINCIPAL_LENGTH,
  aclHostProblem,
  aclResourceNameProblem,
  configNameProblem,
  existingUserNameProblem,
  groupIdProblem,
  maxAclResourceNameLength,
  otherResourceNameProblem,
  principalProblem,
  topicNameProblem,
  userNameProblem,
  type NameLimits,
} from '../../protocol/names.js';
import { mergeInOrder, split } from '../../security/authz/policies/support.js';
import { defineNameCheck, noNames } from './types.js';

const INVALID_TOPIC = ErrorCode.INVALID_TOPIC_EXCEPTION;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

type CreatableTopic = CreateTopicsRequest['topics'][number];
type CreatedTopic = CreateTopicsResponse['topics'][number];

function createTopicRefusal(topic: CreatableTopic): { errorCode: number; errorMessage: string } | null {
  const nameProblem = topicNameProblem(topic.name);
  if (nameProblem !== null) return { errorCode: INVALID_TOPIC, errorMessage: nameProblem };
  const configProblem = topic.configs.map((c) => configNameProblem(c.name)).find((p) => p !== null);
  return configProblem === undefined ? null : { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: configProblem };
}

/** CreateTopics: 17 for an invalid name, 40 for a config name longer than any config's. */
export const createTopicsNames = defineNameCheck(CreateTopics, (body) => {
  const { mask, allowed, denied } = split(body.topics, (t) => createTopicRefusal(t) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const refused = (t: CreatableTopic): CreatedTopic => ({
    name: t.name,
    topicId: ZERO_UUID,
    ...(createTopicRefusal(t) ?? { errorCode: INVALID_TOPIC, errorMessage: null }),
    numPartitions: -1,
    replicationFactor: -1,
    configs: [],
  });
  const merge = (handled: readonly CreatedTopic[]) => mergeInOrder(body.topics, mask, handled, refused);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

type DeletedTopic = DeleteTopicsResponse['responses'][number];

const refusedDeletedTopic = (name: string, topicId: string): DeletedTopic => ({ name, topicId, errorCode: INVALID_TOPIC, errorMessage: topicNameProblem(name) });

/** DeleteTopics: 17 for an invalid name; an entry naming only a topic id (v6) has no name to check. */
export const deleteTopicsNames = defineNameCheck(DeleteTopics, (body, version) => {
  if (version < 6) {
    const names = body.topicNames ?? [];
    const { mask, allowed, denied } = split(names, (name) => topicNameProblem(name) === null);
    if (denied.length === 0) return { kind: 'forward', body };
    const merge = (handled: readonly DeletedTopic[]) => mergeInOrder(names, mask, handled, (name) => refusedDeletedTopic(name, ZERO_UUID));
    if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
    return { kind: 'forward', body: { ...body, topicNames: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
  }
  const topics = body.topics ?? [];
  const { mask, allowed, denied } = split(topics, (t) => t.name == null || topicNameProblem(t.name) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly DeletedTopic[]) => mergeInOrder(topics, mask, handled, (t) => refusedDeletedTopic(t.name ?? '', t.topicId ?? ZERO_UUID));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
});

/** CreatePartitions: 17 for an invalid name. */
export const createPartitionsNames = defineNameCheck(CreatePartitions, (body) => {
  const { mask, allowed, denied } = split(body.topics, (t) => topicNameProblem(t.name) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly { name: string; errorCode: number; errorMessage?: string | null }[]) =>
    mergeInOrder(body.topics, mask, handled, (t) => ({ name: t.name, errorCode: INVALID_TOPIC, errorMessage: topicNameProblem(t.name) }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

/** Config resource types (Kafka's ConfigResource.Type) named by a topic or a group. */
const TOPIC_RESOURCE = 2;
const GROUP_RESOURCE = 32;

interface ConfigResourceRef {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs?: readonly { readonly name: string }[];
}

/** Why a config resource is refused by its name (or a config name it sets), with the code of its type. */
function configResourceRefusal(r: ConfigResourceRef, limits: NameLimits): { errorCode: number; errorMessage: string } | null {
  const problem =
    r.resourceType === TOPIC_RESOURCE
      ? topicNameProblem(r.resourceName)
      : r.resourceType === GROUP_RESOURCE
        ? groupIdProblem(r.resourceName, limits)
        : otherResourceNameProblem(r.resourceName);
  if (problem !== null) {
    const errorCode = r.resourceType === TOPIC_RESOURCE ? INVALID_TOPIC : r.resourceType === GROUP_RESOURCE ? ErrorCode.INVALID_GROUP_ID : ErrorCode.INVALID_REQUEST;
    return { errorCode, errorMessage: problem };
  }
  const configProblem = (r.configs ?? []).map((c) => configNameProblem(c.name)).find((p) => p !== null);
  return configProblem === undefined ? null : { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: configProblem };
}

interface ConfigRefusal {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

function splitConfigResources<R extends ConfigResourceRef>(resources: readonly R[], limits: NameLimits) {
  const parts = split(resources, (r) => configResourceRefusal(r, limits) === null);
  const refusalOf = (r: R): ConfigRefusal => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    ...(configResourceRefusal(r, limits) ?? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: null }),
  });
  return { ...parts, refusalOf };
}

type DescribedConfigs = DescribeConfigsResponse['results'][number];

/**
 * DescribeConfigs: a refused resource name gets its type's code. A requested config name longer than
 * any config's matches none (as in Kafka) and is cut, never dropped: an empty list means every config.
 */
export const describeConfigsNames = defineNameCheck(DescribeConfigs, (body, _version, limits) => {
  const { mask, allowed, denied, refusalOf } = splitConfigResources(body.resources, limits);
  const bounded = allowed.map((r) =>
    r.configurationKeys?.some((k) => k.length > MAX_CONFIG_NAME_LENGTH) === true
      ? { ...r, configurationKeys: r.configurationKeys.map((k) => k.slice(0, MAX_CONFIG_NAME_LENGTH + 1)) }
      : r,
  );
  const cut = bounded.some((r, i) => r !== allowed[i]);
  if (denied.length === 0 && !cut) return { kind: 'forward', body };
  if (denied.length === 0) return { kind: 'forward', body: { ...body, resources: bounded } };
  const merge = (handled: readonly DescribedConfigs[]) => mergeInOrder(body.resources, mask, handled, (r) => ({ ...refusalOf(r), configs: [] }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results: merge([]) } };
  return { kind: 'forward', body: { ...body, resources: bounded }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

/** AlterConfigs: a refused resource name gets its type's code; a config name longer than any config's, 40. */
export const alterConfigsNames = defineNameCheck(AlterConfigs, (body, _version, limits) => {
  const { mask, allowed, denied, refusalOf } = splitConfigResources(body.resources, limits);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly ConfigRefusal[]) => mergeInOrder(body.resources, mask, handled, refusalOf);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return { kind: 'forward', body: { ...body, resources: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
});

/** IncrementalAlterConfigs: as AlterConfigs. */
export const incrementalAlterConfigsNames = defineNameCheck(IncrementalAlterConfigs, (body, _version, limits) => {
  const { mask, allowed, denied, refusalOf } = splitConfigResources(body.resources, limits);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly ConfigRefusal[]) => mergeInOrder(body.resources, mask, handled, refusalOf);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return { kind: 'forward', body: { ...body, resources: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
});

/** Why an ACL binding to create is refused by its names: a resource name its type could not have, a principal or host beyond bound. */
function bindingNameProblem(c: { resourceType: number; resourceName: string; resourcePatternType?: number; principal: string; host: string }, limits: NameLimits): string | null {
  return (
    aclResourceNameProblem(c.resourceType, c.resourcePatternType ?? PatternType.LITERAL, c.resourceName, limits) ??
    principalProblem(c.principal) ??
    aclHostProblem(c.host)
  );
}

/** CreateAcls: 42 for a binding whose names could never match a request. */
export const createAclsNames = defineNameCheck(CreateAcls, (body, _version, limits) => {
  const { mask, allowed, denied } = split(body.creations, (c) => bindingNameProblem(c, limits) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly { errorCode: number; errorMessage: string | null }[]) =>
    mergeInOrder(body.creations, mask, handled, (c) => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: bindingNameProblem(c, limits) }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results: merge([]) } };
  return { kind: 'forward', body: { ...body, creations: allowed }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

/** A filter naming something longer than any binding can hold: refused rather than matched against every binding. */
function filterProblem(f: { resourceNameFilter: string | null; principalFilter: string | null; hostFilter: string | null }, limits: NameLimits): string | null {
  const maxName = maxAclResourceNameLength(limits);
  if (f.resourceNameFilter !== null && f.resourceNameFilter.length > maxName) return `no ACL resource name has more than ${maxName} characters`;
  if (f.principalFilter !== null && f.principalFilter.length > MAX_PRINCIPAL_LENGTH) return `no ACL principal has more than ${MAX_PRINCIPAL_LENGTH} characters`;
  return f.hostFilter === null ? null : aclHostProblem(f.hostFilter);
}

/** DescribeAcls: 42 at the top level for such a filter. */
export const describeAclsNames = defineNameCheck(DescribeAcls, (body, _version, limits) => {
  const problem = filterProblem(body, limits);
  if (problem === null) return { kind: 'forward', body };
  return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, resources: [] } };
});

/** DeleteAcls: 42 for each such filter, which deletes nothing. */
export const deleteAclsNames = defineNameCheck(DeleteAcls, (body, _version, limits) => {
  const { mask, allowed, denied } = split(body.filters, (f) => filterProblem(f, limits) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  type FilterResult = { errorCode: number; errorMessage: string | null; matchingAcls: never[] };
  const merge = <T>(handled: readonly T[]) =>
    mergeInOrder<(typeof body.filters)[number], T | FilterResult>(body.filters, mask, handled, (f) => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: filterProblem(f, limits), matchingAcls: [] }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, filterResults: merge([]) } };
  return { kind: 'forward', body: { ...body, filters: allowed }, finish: (response) => ({ ...response, filterResults: merge(response.filterResults) }) };
});

type DescribedUser = DescribeUserScramCredentialsResponse['results'][number];

/** DescribeUserScramCredentials: a name no user can have is not found (91), as Kafka answers an unknown user. */
export const describeUserScramCredentialsNames = defineNameCheck(DescribeUserScramCredentials, (body) => {
  const users = body.users;
  if (users === null) return { kind: 'forward', body };
  const { mask, allowed, denied } = split(users, (u) => existingUserNameProblem(u.name) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const refused = (u: { name: string }): DescribedUser => ({ user: u.name, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: existingUserNameProblem(u.name), credentialInfos: [] });
  const merge = (handled: readonly DescribedUser[]) => mergeInOrder(users, mask, handled, refused);
  // An empty list would describe every user: answer directly instead.
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: merge([]) } };
  return { kind: 'forward', body: { ...body, users: allowed }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

type AlteredUser = AlterUserScramCredentialsResponse['results'][number];

/**
 * AlterUserScramCredentials: a new credential needs a name that passes the user-name rule; a deletion
 * any name a user may have had. A refused user gets one 93 and none of its alterations is applied.
 */
export const alterUserScramCredentialsNames = defineNameCheck(AlterUserScramCredentials, (body) => {
  // Only names within MAX_EXISTING_USER_NAME_LENGTH are keys here (V8 hashes those by content); a
  // longer name is refused by its length wherever it appears, so it needs no lookup.
  const refusedUpserts = new Map<string, string>();
  for (const u of body.upsertions) {
    const problem = u.name.length > MAX_EXISTING_USER_NAME_LENGTH ? null : userNameProblem(u.name);
    if (problem !== null) refusedUpserts.set(u.name, problem);
  }
  const problemOf = (name: string) => existingUserNameProblem(name) ?? refusedUpserts.get(name) ?? null;
  const items = [...body.deletions, ...body.upsertions];
  if (items.every((item) => problemOf(item.name) === null)) return { kind: 'forward', body };
  const results: AlteredUser[] = [];
  const answered = new Set<string>();
  for (const { name } of items) {
    const problem = problemOf(name);
    if (problem === null) continue;
    if (name.length <= MAX_EXISTING_USER_NAME_LENGTH) {
      if (answered.has(name)) continue;
      answered.add(name);
    }
    results.push({ user: name, errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: problem });
  }
  const deletions = body.deletions.filter((d) => problemOf(d.name) === null);
  const upsertions = body.upsertions.filter((u) => problemOf(u.name) === null);
  if (deletions.length + upsertions.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results } };
  // Kafka answers users in no particular order: the refused ones come after the handler's.
  return { kind: 'forward', body: { ...body, deletions, upsertions }, finish: (response) => ({ ...response, results: [...response.results, ...results] }) };
});

export const ADMIN_NAME_CHECKS = [
  createTopicsNames,
  deleteTopicsNames,
  createPartitionsNames,
  describeConfigsNames,
  alterConfigsNames,
  incrementalAlterConfigsNames,
  noNames(DescribeCluster),
  createAclsNames,
  deleteAclsNames,
  describeAclsNames,
  describeUserScramCredentialsNames,
  alterUserScramCredentialsNames,
] as const;
