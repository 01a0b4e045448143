import { CONSUMER_PROTOCOL_TYPE, decodeConsumerAssignment, type AssignedTopic } from '../protocol/consumer-protocol.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { DeleteGroups } from '../protocol/messages/delete-groups.js';
import { DescribeGroups, type DescribeGroupsResponse } from '../protocol/messages/describe-groups.js';
import { ListGroups } from '../protocol/messages/list-groups.js';
import { OffsetCommit } from '../protocol/messages/offset-commit.js';
import { OffsetFetch } from '../protocol/messages/offset-fetch.js';
import type { BrokerNode, ClusterConnections } from './cluster-connections.js';
import { ClientError, ConnectionError, KafkaError, throwIfError } from './errors.js';
import { CoordinatorKeyType, Coordinators } from './coordinators.js';
import type { KafkaConnection } from './kafka-connection.js';

export interface GroupListing {
  readonly groupId: string;
  /** Empty, Stable, PreparingRebalance, CompletingRebalance (or Dead). */
  readonly state: string;
  /** `consumer` for consumer groups, `connect` for Kafka Connect workers… */
  readonly protocolType: string;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  /** The static member id (KIP-345), or null. */
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /**
   * The decoded assignment of a consumer group's member; null when the group uses another protocol
   * or the bytes do not decode (see {@link assignmentBytes}).
   */
  readonly assignment: readonly AssignedTopic[] | null;
  readonly assignmentBytes: number;
}

export interface GroupDescription {
  readonly groupId: string;
  /** Dead for a group the coordinator does not know. */
  readonly state: string;
  readonly protocolType: string;
  /** The assignor chosen (e.g. `range`); empty while the group is not Stable. */
  readonly protocol: string;
  readonly coordinator: BrokerNode;
  readonly members: readonly GroupMemberDescription[];
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly metadata: string | null;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}


function groupOf(response: DescribeGroupsResponse, groupId: string): DescribeGroupsResponse['groups'][number] {
  const group = response.groups.find((g) => g.groupId === groupId) ?? response.groups[0];
  if (group === undefined) throw new ClientError(`describe group "${groupId}": the broker returned no result`);
  throwIfError(`describe group "${groupId}"`, group.errorCode);
  return group;
}

function decodeAssignment(protocolType: string, bytes: Buffer): readonly AssignedTopic[] | null {
  if (protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
  try {
    return decodeConsumerAssignment(bytes);
  } catch {
    return null;
  }
}

/**
 * Consumer group administration over the Kafka protocol, as kafka-consumer-groups.sh does it: each
 * group's requests go to its coordinator (FindCoordinator), and ListGroups to every broker, each of
 * which lists the groups it coordinates.
 */
export class GroupAdmin {
  readonly #cluster: ClusterConnections;
  /** Coordinators found, by group id: one or two groups per command, forgotten when one moves. */
  readonly #coordinators: Coordinators;

  constructor(cluster: ClusterConnections) {
    this.#cluster = cluster;
    this.#coordinators = new Coordinators(cluster, CoordinatorKeyType.group, (groupId) => `group "${groupId}"`);
  }

  /** Every group of the cluster that the principal may describe, sorted by id. */
  async list(): Promise<GroupListing[]> {
    const { brokers } = await this.#cluster.nodes();
    const connections = brokers.length === 0 ? [this.#cluster.bootstrap] : await Promise.all(brokers.map((b) => this.#connectForList(b)));
    const found = new Map<string, GroupListing>();
    for (const connection of new Set(connections)) {
      const withStates = connection.versionFor(ListGroups) >= 4;
      const response = await connection.request(ListGroups, { statesFilter: [] });
      throwIfError('list groups', response.errorCode);
      // ListGroups reports states from v4 (KIP-518); before, DescribeGroups on the same broker (their coordinator) does.
      const described =
        withStates || response.groups.length === 0
          ? []
          : (await connection.request(DescribeGroups, { groups: response.groups.map((g) => g.groupId), includeAuthorizedOperations: false })).groups;
      for (const g of response.groups) {
        const state = (withStates ? g.groupState : described.find((d) => d.groupId === g.groupId)?.groupState) ?? 'Unknown';
        found.set(g.groupId, { groupId: g.groupId, state, protocolType: g.protocolType });
      }
    }
    return [...found.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** The group as its coordinator sees it; state Dead for a group that does not exist. */
  async describe(groupId: string): Promise<GroupDescription> {
    return this.#withCoordinator(groupId, async (connection, coordinator) => {
      const response = await connection.request(DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
      let group: DescribeGroupsResponse['groups'][number];
      try {
        group = groupOf(response, groupId);
      } catch (err) {
        // DescribeGroups v6+ (KIP-1043) reports an unknown group as an error; before, as Dead.
        if (err instanceof KafkaError && err.code === ErrorCode.GROUP_ID_NOT_FOUND) {
          return { groupId, state: 'Dead', protocolType: '', protocol: '', coordinator, members: [] };
        }
        throw err;
      }
      return {
        groupId,
        state: group.groupState,
        protocolType: group.protocolType,
        protocol: group.protocolData,
        coordinator,
        members: group.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId ?? null,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: decodeAssignment(group.protocolType, m.memberAssignment),
          assignmentBytes: m.memberAssignment.length,
        })),
      };
    });
  }

  /** The group's committed offsets, for every topic; partitions without a commit are left out. */
  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    return this.#withCoordinator(groupId, async (connection) => {
      const version = connection.versionFor(OffsetFetch);
      // v0-1 cannot ask for every topic (a null topic list arrived in v2).
      if (version < 2) throw new ClientError('the coordinator only offers OffsetFetch v0-1, which cannot list all committed offsets');
      const what = `fetch the committed offsets of group "${groupId}"`;
      const response = await connection.request(OffsetFetch, { groupId, topics: null, groups: [{ groupId, topics: null }], requireStable: false });
      let topics = response.topics ?? [];
      if (version >= 8) {
        const group = response.groups?.find((g) => g.groupId === groupId);
        if (group === undefined) throw new ClientError(`${what}: the broker returned no result`);
        throwIfError(what, group.errorCode ?? 0);
        topics = group.topics ?? [];
      } else {
        throwIfError(what, response.errorCode ?? 0);
      }
      const offsets: CommittedOffset[] = [];
      for (const t of topics) {
        const topic = t.name ?? '';
        for (const p of t.partitions ?? []) {
          const partition = p.partitionIndex ?? -1;
          throwIfError(`${what} (${topic}:${partition})`, p.errorCode ?? 0);
          const offset = p.committedOffset ?? -1n;
          if (offset >= 0n) offsets.push({ topic, partition, offset, metadata: p.metadata ?? null });
        }
      }
      return offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    });
  }

  /**
   * Commits offsets outside the group protocol (generation −1, no member id), as
   * kafka-consumer-groups.sh does for --reset-offsets: coordinators accept this only while the
   * group has no members, and answer UNKNOWN_MEMBER_ID otherwise.
   */
  async commitOffsets(groupId: string, offsets: readonly OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    await this.#withCoordinator(groupId, async (connection) => {
      const response = await connection.request(OffsetCommit, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [...byTopic].map(([name, list]) => ({
          name,
          partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' })),
        })),
      });
      for (const t of response.topics) {
        for (const p of t.partitions) throwIfError(`commit the offset of ${t.name}:${p.partitionIndex} for group "${groupId}"`, p.errorCode);
      }
    });
  }

  /** Deletes an empty group and its committed offsets (NON_EMPTY_GROUP while it has members). */
  async delete(groupId: string): Promise<void> {
    await this.#withCoordinator(groupId, async (connection) => {
      const response = await connection.request(DeleteGroups, { groupsNames: [groupId] });
      const result = response.results.find((r) => r.groupId === groupId) ?? response.results[0];
      if (result === undefined) throw new ClientError(`delete group "${groupId}": the broker returned no result`);
      throwIfError(`delete group "${groupId}"`, result.errorCode);
    });
  }

  /** The group's coordinator, asked again (after a pause) while it is moving or loading. */
  #withCoordinator<T>(groupId: string, fn: (connection: KafkaConnection, coordinator: BrokerNode) => Promise<T>): Promise<T> {
    return this.#coordinators.withRetries(groupId, fn);
  }

  /** Each broker lists only the groups it coordinates: without one of them the list would be incomplete. */
  async #connectForList(broker: BrokerNode): Promise<KafkaConnection> {
    try {
      return await this.#cluster.to(broker);
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      throw new ConnectionError(`list groups: every broker lists the groups it coordinates, and broker ${broker.nodeId} cannot be reached: ${err.message}`);
    }
  }
}
