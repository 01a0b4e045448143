import { ErrorCode } from '../protocol/error-codes.js';
import { Metadata } from '../protocol/messages/metadata.js';
import type { HandlerEntry } from '../server/dispatcher.js';

export interface ClusterIdentity {
  readonly nodeId: number;
  readonly clusterId: string;
}

/**
 * Metadata: this broker is the only node and the controller (admin clients send admin requests to
 * the controller). It advertises the host and port of the listener the request arrived on.
 * Topics come with the storage engine; until then every named topic is unknown.
 */
export function metadataHandler(identity: ClusterIdentity): HandlerEntry {
  return {
    api: Metadata,
    handle: (body, ctx) => {
      const requested = (body.topics as { name: string }[] | null) ?? [];
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId: identity.nodeId, host: ctx.listener.host, port: ctx.listener.port, rack: null }],
        clusterId: identity.clusterId,
        controllerId: identity.nodeId,
        topics: requested.map((t) => ({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: t.name, isInternal: false, partitions: [] })),
        clusterAuthorizedOperations: -2147483648,
      };
    },
  };
}
