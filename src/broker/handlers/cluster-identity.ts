/** Who this broker is: Metadata and DescribeCluster name it, and FindCoordinator points at it. */
export interface ClusterIdentity {
  readonly nodeId: number;
  readonly clusterId: string;
}
