import { randomBytes } from 'node:crypto';
import {
  AclOperation,
  AclPermissionType,
  aclOperationName,
  aclPermissionTypeName,
  PatternType,
  patternTypeName,
  ResourceType,
  resourceTypeName,
} from '../protocol/acl.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AlterUserScramCredentials } from '../protocol/messages/alter-user-scram-credentials.js';
import { CreateAcls } from '../protocol/messages/create-acls.js';
import { CreatePartitions } from '../protocol/messages/create-partitions.js';
import { CreateTopics } from '../protocol/messages/create-topics.js';
import { DeleteAcls } from '../protocol/messages/delete-acls.js';
import { DeleteTopics } from '../protocol/messages/delete-topics.js';
import { DescribeAcls } from '../protocol/messages/describe-acls.js';
import { DescribeConfigs } from '../protocol/messages/describe-configs.js';
import { DescribeUserScramCredentials } from '../protocol/messages/describe-user-scram-credentials.js';
import { IncrementalAlterConfigs } from '../protocol/messages/incremental-alter-configs.js';
import { Metadata } from '../protocol/messages/metadata.js';
import {
  DEFAULT_SALT_BYTES,
  DEFAULT_SCRAM_ITERATIONS,
  MAX_SCRAM_ITERATIONS,
  MIN_SCRAM_ITERATIONS,
  saltedPassword,
  SCRAM_MECHANISM_CODES,
  scramMechanismOfCode,
} from '../security/credentials/scram-keys.js';
import type { ScramMechanismName } from '../security/types.js';
import type { ClientConfig } from './client-config.js';
import { printable } from './printable.js';
import { ClientError, ConnectionError, KafkaError, throwIfError } from './errors.js';
import { ClusterConnections } from './cluster-connections.js';
import { GroupAdmin } from './group-admin.js';
import { QuotaAdmin } from './quota-admin.js';
import { TransactionAdmin } from './transaction-admin.js';
import type { KafkaConnection, ConnectionOptions } from './kafka-connection.js';
import { describePartitions, listOffsets, type OffsetSpec, type TopicPartition, type TopicPartitions } from './partition-offsets.js';

export interface PartitionDescription {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** DescribeConfigs v1+ config sources (Kafka's `ConfigSource`). */
export const CONFIG_SOURCES = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
] as const;
export type ConfigSourceName = (typeof CONFIG_SOURCES)[number];

export interface TopicConfigEntry {
  readonly name: string;
  /** Null for sensitive values, which brokers never return. */
  readonly value: string | null;
  readonly source: ConfigSourceName;
  /** Whether the value is the built-in default (Kafka's `ConfigEntry.isDefault`). */
  readonly isDefault: boolean;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
}

export interface TopicDescription {
  readonly name: string;
  readonly internal: boolean;
  readonly partitions: readonly PartitionDescription[];
  readonly configs: readonly TopicConfigEntry[];
}

export interface TopicListing {
  readonly name: string;
  readonly partitions: number;
  readonly internal: boolean;
}

/** One ACL binding as Kafka stores it: who may (or may not) do what on which resources, from where. */
export interface AclBinding {
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  /** LITERAL or PREFIXED. */
  readonly patternType: PatternType;
  /** `User:alice`, or `User:*` for every principal. */
  readonly principal: string;
  /** An IP address or `*`; Parapet also accepts a CIDR block. */
  readonly host: string;
  readonly operation: AclOperation;
  readonly permission: AclPermissionType;
}

/** An ACL filter: ANY (or null for names) matches every value of a field. */
export interface AclBindingFilter {
  readonly resourceType: ResourceType;
  readonly resourceName: string | null;
  /** ANY, MATCH (bindings that apply to `resourceName`), LITERAL or PREFIXED. */
  readonly patternType: PatternType;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: AclOperation;
  readonly permission: AclPermissionType;
}

/** A filter that matches every binding; spread it and narrow the fields that matter. */
export const MATCH_ALL_ACLS: AclBindingFilter = Object.freeze({
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permission: AclPermissionType.ANY,
});

export interface ScramCredentialInfo {
  readonly mechanism: ScramMechanismName;
  readonly iterations: number;
}

export interface ScramUserDescription {
  readonly user: string;
  readonly credentials: readonly ScramCredentialInfo[];
}

/** DescribeConfigs resource type of a broker (Kafka's `ConfigResource.Type.BROKER`). */
const CONFIG_RESOURCE_BROKER = 4;

/** DescribeConfigs resource type of a topic (Kafka's `ConfigResource.Type.TOPIC`). */
const CONFIG_RESOURCE_TOPIC = 2;
const CONFIG_SOURCE_DEFAULT = 5;
/** IncrementalAlterConfigs operations (AlterConfigOp.OpType). */
const CONFIG_OPERATION_SET = 0;
const CONFIG_OPERATION_DELETE = 1;
/** How long the broker may take over topic creation and deletion (the request's own timeout). */
const TOPIC_OPERATION_TIMEOUT_MS = 30_000;

function known<T extends number>(table: Readonly<Record<string, T>>, code: number): T {
  // Codes this client does not know become UNKNOWN (0), the convention of ../protocol/acl.ts.
  return (Object.values(table).find((c) => c === code) ?? 0) as T;
}

/** Quoted when it holds spaces, quotes or `=`; what a terminal would not show is escaped (./printable.ts). */
function quoteIfNeeded(name: string): string {
  return name === '' || /[\s"=]/.test(name) || printable(name) !== name ? printable(JSON.stringify(name)) : name;
}

function codeName(name: string | undefined, code: number): string {
  return name ?? `UNKNOWN(${code})`;
}

/**
 * One line per binding, stable and greppable:
 * `principal=User:alice permission=ALLOW operation=READ resource=TOPIC name=orders pattern=LITERAL host=*`.
 */
export function formatAclBinding(b: AclBinding): string {
  return [
    `principal=${quoteIfNeeded(b.principal)}`,
    `permission=${codeName(aclPermissionTypeName(b.permission), b.permission)}`,
    `operation=${codeName(aclOperationName(b.operation), b.operation)}`,
    `resource=${codeName(resourceTypeName(b.resourceType), b.resourceType)}`,
    `name=${quoteIfNeeded(b.resourceName)}`,
    `pattern=${codeName(patternTypeName(b.patternType), b.patternType)}`,
    `host=${quoteIfNeeded(b.host)}`,
  ].join(' ');
}

/** Orders bindings by resource, then principal, host, operation and permission. */
export function compareAclBindings(a: AclBinding, b: AclBinding): number {
  return (
    a.resourceType - b.resourceType ||
    (a.resourceName < b.resourceName ? -1 : a.resourceName > b.resourceName ? 1 : 0) ||
    a.patternType - b.patternType ||
    (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0) ||
    (a.host < b.host ? -1 : a.host > b.host ? 1 : 0) ||
    a.operation - b.operation ||
    a.permission - b.permission
  );
}

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < MIN_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    throw new ClientError(`SCRAM iterations must be an integer from ${MIN_SCRAM_ITERATIONS} to ${MAX_SCRAM_ITERATIONS} (got ${iterations})`);
  }
}

/**
 * A Kafka admin client over the Kafka protocol, so it works against Parapet and any Kafka cluster.
 * Reads go to the bootstrap broker; changes go to the controller that Metadata names, which older
 * ZooKeeper-based Kafka requires for topics and SCRAM credentials (newer brokers forward them anyway);
 * a group's requests go to its coordinator ({@link GroupAdmin}), a transactional id's to its own
 * ({@link TransactionAdmin}), ListOffsets to each partition's leader.
 * Every Kafka error code becomes a {@link KafkaError} naming the error and the operation.
 */
export class AdminClient {
  readonly #cluster: ClusterConnections;
  readonly #bootstrap: KafkaConnection;
  #controller: Promise<KafkaConnection> | undefined;
  /** Consumer groups: listing, describing, committed offsets, deletion. */
  readonly groups: GroupAdmin;
  /** Client quotas (KIP-546). */
  readonly quotas: QuotaAdmin;
  /** Transactions (KIP-664): listing, describing, aborting an open one by fencing its producer. */
  readonly transactions: TransactionAdmin;

  private constructor(cluster: ClusterConnections) {
    this.#cluster = cluster;
    this.#bootstrap = cluster.bootstrap;
    this.groups = new GroupAdmin(cluster);
    this.quotas = new QuotaAdmin(cluster);
    this.transactions = new TransactionAdmin(cluster);
  }

  static async connect(config: ClientConfig, options: ConnectionOptions = {}): Promise<AdminClient> {
    return new AdminClient(await ClusterConnections.connect(config, options));
  }

  close(): void {
    this.#cluster.close();
  }

  // ---- topics ----

  /** `partitions` and `replicationFactor` of −1 take the broker's defaults (KIP-464, CreateTopics v4+). */
  async createTopic(name: string, partitions = -1, configs: Readonly<Record<string, string>> = {}, replicationFactor = -1): Promise<void> {
    const connection = await this.#controllerConnection();
    if ((partitions === -1 || replicationFactor === -1) && connection.versionFor(CreateTopics) < 4) {
      throw new ClientError('this broker has no default partition count or replication factor: give both explicitly');
    }
    const response = await connection.request(CreateTopics, {
      topics: [
        {
          name,
          numPartitions: partitions,
          replicationFactor,
          assignments: [],
          configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
        },
      ],
      timeoutMs: TOPIC_OPERATION_TIMEOUT_MS,
      validateOnly: false,
    });
    const result = response.topics.find((t) => t.name === name) ?? response.topics[0];
    if (result === undefined) throw new ClientError(`create topic "${name}": the broker returned no result`);
    throwIfError(`create topic "${name}"`, result.errorCode, result.errorMessage);
  }

  /** Every topic the principal may describe, sorted by name. */
  async listTopics(): Promise<TopicListing[]> {
    // Metadata v0 reads an empty list as "all topics"; v1+ needs null for that.
    const all = this.#bootstrap.versionFor(Metadata) === 0 ? [] : null;
    const response = await this.#bootstrap.request(Metadata, { topics: all, allowAutoTopicCreation: false });
    return response.topics
      .filter((t) => t.errorCode === 0)
      .map((t) => ({ name: t.name, partitions: t.partitions.length, internal: t.isInternal ?? false }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    // allowAutoTopicCreation=false: describing a missing topic must not create it (Metadata v4+).
    const metadata = await this.#bootstrap.request(Metadata, { topics: [{ name }], allowAutoTopicCreation: false });
    const topic = metadata.topics.find((t) => t.name === name);
    if (topic === undefined) throw new KafkaError(`describe topic "${name}"`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    throwIfError(`describe topic "${name}"`, topic.errorCode);
    const configsResponse = await this.#bootstrap.request(DescribeConfigs, {
      resources: [{ resourceType: CONFIG_RESOURCE_TOPIC, resourceName: name, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const result = configsResponse.results[0];
    if (result === undefined) throw new ClientError(`describe configs of topic "${name}": the broker returned no result`);
    throwIfError(`describe configs of topic "${name}"`, result.errorCode, result.errorMessage);
    const v0 = this.#bootstrap.versionFor(DescribeConfigs) === 0;
    const configs = result.configs
      .map((c): TopicConfigEntry => {
        const source = v0 ? (c.isDefault === true ? CONFIG_SOURCE_DEFAULT : 0) : (c.configSource ?? 0);
        return {
          name: c.name,
          value: c.value,
          source: CONFIG_SOURCES[source] ?? 'UNKNOWN',
          isDefault: source === CONFIG_SOURCE_DEFAULT,
          readOnly: c.readOnly,
          sensitive: c.isSensitive,
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      name,
      internal: topic.isInternal ?? false,
      partitions: topic.partitions
        .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes }))
        .sort((a, b) => a.partition - b.partition),
      configs,
    };
  }

  /** The cluster's brokers (Metadata), as clients are told to reach them. */
  async describeBrokers(): Promise<readonly { nodeId: number; host: string; port: number }[]> {
    return (await this.#cluster.nodes()).brokers;
  }

  /** A broker's configs (DescribeConfigs of resource BROKER): name → value, null when sensitive or unset. */
  async describeBrokerConfigs(nodeId: number): Promise<ReadonlyMap<string, string | null>> {
    const response = await this.#bootstrap.request(DescribeConfigs, {
      resources: [{ resourceType: CONFIG_RESOURCE_BROKER, resourceName: String(nodeId), configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const result = response.results[0];
    if (result === undefined) throw new ClientError(`describe configs of broker ${nodeId}: the broker returned no result`);
    throwIfError(`describe configs of broker ${nodeId}`, result.errorCode, result.errorMessage);
    return new Map(result.configs.map((c) => [c.name, c.value]));
  }

  async deleteTopic(name: string): Promise<void> {
    const connection = await this.#controllerConnection();
    // v6 names topics in `topics`, earlier versions in `topicNames`; the codec sends the one the version has.
    const response = await connection.request(DeleteTopics, { topics: [{ name }], topicNames: [name], timeoutMs: TOPIC_OPERATION_TIMEOUT_MS });
    const result = response.responses.find((r) => r.name === name) ?? response.responses[0];
    if (result === undefined) throw new ClientError(`delete topic "${name}": the broker returned no result`);
    throwIfError(`delete topic "${name}"`, result.errorCode, result.errorMessage);
  }

  /**
   * Sets and deletes single topic configs (IncrementalAlterConfigs, KIP-339): keys not named keep
   * their values. A deleted key goes back to its default.
   */
  async alterTopicConfigs(name: string, set: Readonly<Record<string, string>>, remove: readonly string[] = []): Promise<void> {
    const connection = await this.#controllerConnection();
    const response = await connection.request(IncrementalAlterConfigs, {
      resources: [
        {
          resourceType: CONFIG_RESOURCE_TOPIC,
          resourceName: name,
          configs: [
            ...Object.entries(set).map(([key, value]) => ({ name: key, configOperation: CONFIG_OPERATION_SET, value })),
            ...remove.map((key) => ({ name: key, configOperation: CONFIG_OPERATION_DELETE, value: null })),
          ],
        },
      ],
      validateOnly: false,
    });
    const result = response.responses.find((r) => r.resourceName === name) ?? response.responses[0];
    if (result === undefined) throw new ClientError(`alter configs of topic "${name}": the broker returned no result`);
    throwIfError(`alter configs of topic "${name}"`, result.errorCode, result.errorMessage);
  }

  /** Grows the topic to `totalCount` partitions (CreatePartitions takes the new total, not how many to add). */
  async createPartitions(name: string, totalCount: number): Promise<void> {
    const connection = await this.#controllerConnection();
    const response = await connection.request(CreatePartitions, {
      topics: [{ name, count: totalCount, assignments: null }],
      timeoutMs: TOPIC_OPERATION_TIMEOUT_MS,
      validateOnly: false,
    });
    const result = response.results.find((r) => r.name === name) ?? response.results[0];
    if (result === undefined) throw new ClientError(`add partitions to topic "${name}": the broker returned no result`);
    throwIfError(`add partitions to topic "${name}"`, result.errorCode, result.errorMessage);
  }

  /** Partitions and leaders of the named topics; unknown topics are left out of the map. */
  describePartitions(topics: readonly string[]): Promise<Map<string, TopicPartitions>> {
    return describePartitions(this.#cluster, topics);
  }

  /** Offsets by spec, asked of each partition's leader; keyed by {@link partitionKey}, null when no record matches. */
  listOffsets(partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<Map<string, bigint | null>> {
    return listOffsets(this.#cluster, partitions, spec);
  }

  // ---- ACLs ----

  async createAcl(binding: AclBinding): Promise<void> {
    await this.createAcls([binding]);
  }

  /** Creates the bindings in one request. Bindings before a failing one may have been created. */
  async createAcls(bindings: readonly AclBinding[]): Promise<void> {
    const connection = await this.#controllerConnection();
    this.#checkPatterns(connection, CreateAcls, bindings.map((b) => b.patternType));
    const response = await connection.request(CreateAcls, {
      creations: bindings.map((b) => ({
        resourceType: b.resourceType,
        resourceName: b.resourceName,
        resourcePatternType: b.patternType,
        principal: b.principal,
        host: b.host,
        operation: b.operation,
        permissionType: b.permission,
      })),
    });
    for (const [i, binding] of bindings.entries()) {
      const result = response.results[i];
      if (result === undefined) throw new ClientError('create ACLs: the broker returned fewer results than bindings');
      throwIfError(`create ACL (${formatAclBinding(binding)})`, result.errorCode, result.errorMessage);
    }
  }

  /** The bindings matching the filter, sorted with {@link compareAclBindings}. */
  async describeAcls(filter: AclBindingFilter = MATCH_ALL_ACLS): Promise<AclBinding[]> {
    this.#checkPatterns(this.#bootstrap, DescribeAcls, [filter.patternType]);
    const response = await this.#bootstrap.request(DescribeAcls, {
      resourceTypeFilter: filter.resourceType,
      resourceNameFilter: filter.resourceName,
      patternTypeFilter: filter.patternType,
      principalFilter: filter.principal,
      hostFilter: filter.host,
      operation: filter.operation,
      permissionType: filter.permission,
    });
    throwIfError('describe ACLs', response.errorCode, response.errorMessage);
    return response.resources
      .flatMap((r) =>
        r.acls.map((a) => ({
          resourceType: known(ResourceType, r.resourceType),
          resourceName: r.resourceName,
          patternType: known(PatternType, r.patternType ?? PatternType.LITERAL),
          principal: a.principal,
          host: a.host,
          operation: known(AclOperation, a.operation),
          permission: known(AclPermissionType, a.permissionType),
        })),
      )
      .sort(compareAclBindings);
  }

  /** Deletes every binding matching any of the filters; returns the deleted bindings, sorted. */
  async deleteAcls(filters: AclBindingFilter | readonly AclBindingFilter[]): Promise<AclBinding[]> {
    const list: readonly AclBindingFilter[] = Array.isArray(filters) ? filters : [filters as AclBindingFilter];
    const connection = await this.#controllerConnection();
    this.#checkPatterns(connection, DeleteAcls, list.map((f) => f.patternType));
    const response = await connection.request(DeleteAcls, {
      filters: list.map((f) => ({
        resourceTypeFilter: f.resourceType,
        resourceNameFilter: f.resourceName,
        patternTypeFilter: f.patternType,
        principalFilter: f.principal,
        hostFilter: f.host,
        operation: f.operation,
        permissionType: f.permission,
      })),
    });
    const deleted: AclBinding[] = [];
    for (const result of response.filterResults) {
      throwIfError('delete ACLs', result.errorCode, result.errorMessage);
      for (const m of result.matchingAcls) {
        const binding: AclBinding = {
          resourceType: known(ResourceType, m.resourceType),
          resourceName: m.resourceName,
          patternType: known(PatternType, m.patternType ?? PatternType.LITERAL),
          principal: m.principal,
          host: m.host,
          operation: known(AclOperation, m.operation),
          permission: known(AclPermissionType, m.permissionType),
        };
        throwIfError(`delete ACL (${formatAclBinding(binding)})`, m.errorCode, m.errorMessage);
        deleted.push(binding);
      }
    }
    return deleted.sort(compareAclBindings);
  }

  // ---- SCRAM credentials (KIP-554) ----

  /**
   * The SCRAM credentials (mechanism and iterations, never keys) of the named users, or of every user
   * for null. Named users without credentials are left out rather than failing.
   */
  async describeScramUsers(users: readonly string[] | null): Promise<ScramUserDescription[]> {
    const response = await this.#bootstrap.request(DescribeUserScramCredentials, {
      users: users === null ? null : users.map((name) => ({ name })),
    });
    throwIfError('describe SCRAM users', response.errorCode, response.errorMessage);
    const described: ScramUserDescription[] = [];
    for (const r of response.results) {
      if (r.errorCode === ErrorCode.RESOURCE_NOT_FOUND) continue;
      throwIfError(`describe SCRAM user "${r.user}"`, r.errorCode, r.errorMessage);
      const credentials = r.credentialInfos
        .flatMap((c) => {
          const mechanism = scramMechanismOfCode(c.mechanism);
          // Kafka defines only SHA-256 (1) and SHA-512 (2); a code beyond them is nothing we can manage.
          return mechanism === undefined ? [] : [{ mechanism, iterations: c.iterations }];
        })
        .sort((a, b) => (a.mechanism < b.mechanism ? -1 : a.mechanism > b.mechanism ? 1 : 0));
      described.push({ user: r.user, credentials });
    }
    return described.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }

  async upsertScramCredential(user: string, mechanism: ScramMechanismName, password: string, iterations = DEFAULT_SCRAM_ITERATIONS): Promise<void> {
    await this.upsertScramCredentials(user, password, [{ mechanism, iterations }]);
  }

  /**
   * Sets the user's password for each mechanism, one request per mechanism: Kafka (ScramControlManager)
   * refuses a request that alters one user twice with DUPLICATE_RESOURCE. Only Hi(password, salt, i)
   * leaves this process, with a fresh random salt per mechanism: the broker never sees the password
   * (KIP-554).
   */
  async upsertScramCredentials(user: string, password: string, credentials: readonly ScramCredentialInfo[]): Promise<void> {
    if (credentials.length === 0) throw new ClientError('no SCRAM mechanism given');
    for (const c of credentials) checkIterations(c.iterations);
    for (const { mechanism, iterations } of credentials) {
      const salt = randomBytes(DEFAULT_SALT_BYTES);
      const upsertion = { name: user, mechanism: SCRAM_MECHANISM_CODES[mechanism], iterations, salt, saltedPassword: saltedPassword(mechanism, password, salt, iterations) };
      await this.#alterScram(user, `set ${mechanism} credential`, { deletions: [], upsertions: [upsertion] });
    }
  }

  async deleteScramCredential(user: string, mechanism: ScramMechanismName): Promise<void> {
    await this.deleteScramCredentials(user, [mechanism]);
  }

  async deleteScramCredentials(user: string, mechanisms: readonly ScramMechanismName[]): Promise<void> {
    if (mechanisms.length === 0) throw new ClientError('no SCRAM mechanism given');
    for (const mechanism of mechanisms) {
      await this.#alterScram(user, `delete ${mechanism} credential`, { deletions: [{ name: user, mechanism: SCRAM_MECHANISM_CODES[mechanism] }], upsertions: [] });
    }
  }

  async #alterScram(
    user: string,
    what: string,
    body: { deletions: { name: string; mechanism: number }[]; upsertions: { name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }[] },
  ): Promise<void> {
    const connection = await this.#controllerConnection();
    const response = await connection.request(AlterUserScramCredentials, body);
    const result = response.results.find((r) => r.user === user) ?? response.results[0];
    if (result === undefined) throw new ClientError(`${what} of "${user}": the broker returned no result`);
    throwIfError(`${what} of "${user}"`, result.errorCode, result.errorMessage);
  }

  // ---- routing ----

  /** ACL API v0 carries no pattern type (every binding is LITERAL); refuse to silently widen a filter. */
  #checkPatterns(connection: KafkaConnection, api: typeof CreateAcls | typeof DescribeAcls | typeof DeleteAcls, patterns: readonly PatternType[]): void {
    if (connection.versionFor(api) > 0) return;
    if (patterns.some((p) => p !== PatternType.LITERAL && p !== PatternType.ANY)) {
      throw new ClientError(`the broker only supports ${api.name} v0, which has no prefixed ACLs`);
    }
  }

  #controllerConnection(): Promise<KafkaConnection> {
    this.#controller ??= this.#findController();
    return this.#controller;
  }

  async #findController(): Promise<KafkaConnection> {
    // Metadata v0 has no controller id.
    if (this.#bootstrap.versionFor(Metadata) === 0) return this.#bootstrap;
    const { brokers, controllerId } = await this.#cluster.nodes();
    const controller = brokers.find((b) => b.nodeId === controllerId);
    if (controller === undefined) return this.#bootstrap;
    try {
      return await this.#cluster.to(controller);
    } catch (err) {
      // An advertised address unreachable from here (NAT, containers): modern brokers forward admin
      // requests to the controller themselves, so the bootstrap broker is the next best choice.
      if (err instanceof ConnectionError) return this.#bootstrap;
      throw err;
    }
  }
}
