import { ErrorCode } from '../../protocol/error-codes.js';
import { entryOf, errorEntry } from '../../protocol/error-responses.js';
import { Metadata } from '../../protocol/messages/metadata.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { TopicRecord } from '../../storage/topic-store.js';
import { INTERNAL_TOPICS } from '../../topics/internal-topics.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';
import type { ClusterIdentity } from './cluster-identity.js';

const TOPIC = entryOf(Metadata.response.fields.topics);

/**
 * Metadata: this broker is the only node, the leader of every partition and the controller (admin
 * clients send admin requests to the controller). It advertises the host and port of the listener
 * the request arrived on. Topic lists: v0 empty = all; v1+ null = all, empty = none.
 * Unknown topics are created only when the broker allows auto-creation and the request does too.
 */
export function metadataHandler(identity: ClusterIdentity, topics: TopicAdmin, autoCreateTopics: boolean): HandlerEntry {
  const describe = (t: TopicRecord) => ({
    errorCode: 0,
    name: t.name,
    isInternal: INTERNAL_TOPICS.has(t.name),
    partitions: Array.from({ length: t.partitions }, (_, p) => ({
      errorCode: 0,
      partitionIndex: p,
      leaderId: identity.nodeId,
      leaderEpoch: 0,
      replicaNodes: [identity.nodeId],
      isrNodes: [identity.nodeId],
      offlineReplicas: [],
    })),
  });
  return handler(Metadata, (body, ctx) => {
    const all = body.topics === null || (ctx.header.apiVersion === 0 && body.topics.length === 0);
    const mayCreate = autoCreateTopics && (body.allowAutoTopicCreation ?? true);
    const listed = all
      ? topics.list().map(describe)
      : (body.topics ?? []).map(({ name }) => {
          const found = topics.get(name) ?? (mayCreate ? autoCreate(topics, name) : undefined);
          return found === undefined ? errorEntry(TOPIC, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { name }) : describe(found);
        });
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: identity.nodeId, host: ctx.listener.host, port: ctx.listener.port, rack: null }],
      clusterId: identity.clusterId,
      controllerId: identity.nodeId,
      topics: listed,
    };
  });
}

function autoCreate(topics: TopicAdmin, name: string): TopicRecord | undefined {
  return topics.create({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {} }, false).topic;
}
