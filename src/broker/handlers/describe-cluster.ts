import { DescribeCluster } from '../../protocol/messages/describe-cluster.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { ClusterIdentity } from './cluster-identity.js';

/** DescribeCluster: one broker, itself the controller, at the listener the request came in on. */
export function describeClusterHandler(identity: ClusterIdentity): HandlerEntry {
  return handler(DescribeCluster, (_body, ctx) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    clusterId: identity.clusterId,
    controllerId: identity.nodeId,
    brokers: [{ brokerId: identity.nodeId, host: ctx.listener.host, port: ctx.listener.port, rack: null }],
  }));
}
