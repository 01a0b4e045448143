import { Metadata } from '../protocol/messages/metadata.js';
import { formatBrokerAddress, type BrokerAddress, type ClientConfig } from './client-config.js';
import { connectToCluster, KafkaConnection, type ConnectionOptions } from './kafka-connection.js';

/** A broker as Metadata and FindCoordinator name it. */
export interface BrokerNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

function sameAddress(a: BrokerAddress, b: BrokerAddress): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port;
}

export interface ClusterNodes {
  readonly brokers: readonly BrokerNode[];
  /** −1 when the broker does not say (Metadata v0). */
  readonly controllerId: number;
}

/**
 * The admin client's connections: the bootstrap connection, and one connection per other broker it
 * has to talk to (the controller, a group's coordinator, a partition's leader), opened on first use
 * and kept until {@link close}. Their number is bounded by the size of the cluster.
 */
export class ClusterConnections {
  readonly bootstrap: KafkaConnection;
  readonly #config: ClientConfig;
  readonly #options: ConnectionOptions;
  readonly #others = new Map<string, Promise<KafkaConnection>>();
  #cluster: Promise<ClusterNodes> | undefined;
  #closed = false;

  private constructor(config: ClientConfig, options: ConnectionOptions, bootstrap: KafkaConnection) {
    this.#config = config;
    this.#options = options;
    this.bootstrap = bootstrap;
  }

  static async connect(config: ClientConfig, options: ConnectionOptions = {}): Promise<ClusterConnections> {
    return new ClusterConnections(config, options, await connectToCluster(config, options));
  }

  /** The cluster's brokers and controller, from one Metadata request (for no topic) made on first use. */
  nodes(): Promise<ClusterNodes> {
    this.#cluster ??= this.#fetchNodes();
    return this.#cluster;
  }

  /**
   * A connection to the broker at this address: the bootstrap one when it is that broker (same
   * address, or a cluster of one broker, whose advertised name may differ from the one dialled,
   * e.g. `localhost` for `127.0.0.1`); otherwise a connection of its own, opened once.
   */
  async to(node: BrokerNode): Promise<KafkaConnection> {
    if (sameAddress(node, this.bootstrap.address)) return this.bootstrap;
    const { brokers } = await this.nodes();
    if (brokers.length === 1 && brokers[0]?.nodeId === node.nodeId) return this.bootstrap;
    const key = formatBrokerAddress(node);
    let connection = this.#others.get(key);
    if (connection === undefined) {
      connection = KafkaConnection.connect({ host: node.host, port: node.port }, this.#config, this.#options);
      this.#others.set(key, connection);
      // A failed attempt is not kept: the next call may try again.
      connection.then(
        (c) => {
          if (this.#closed) c.close();
        },
        () => this.#others.delete(key),
      );
    }
    return connection;
  }

  close(): void {
    this.#closed = true;
    this.bootstrap.close();
    for (const pending of this.#others.values()) {
      pending.then(
        (c) => {
          c.close();
        },
        () => undefined,
      );
    }
    this.#others.clear();
  }

  async #fetchNodes(): Promise<ClusterNodes> {
    // Metadata v0 reads an empty topic list as "all topics"; only the brokers matter here.
    const response = await this.bootstrap.request(Metadata, { topics: [], allowAutoTopicCreation: false });
    return { brokers: response.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })), controllerId: response.controllerId ?? -1 };
  }
}
