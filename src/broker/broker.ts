import type { Logger } from '../logger.js';
import { Listener } from '../server/listener.js';
import type { HandlerEntry } from '../server/dispatcher.js';
import { MetadataStore } from '../storage/metadata-store.js';
import { apiVersionsHandler } from './api-versions.js';
import { configHandlers } from './config-handlers.js';
import { describeClusterHandler } from './describe-cluster.js';
import { metadataHandler } from './metadata.js';
import { TopicAdmin } from './topic-admin.js';
import { topicHandlers } from './topic-handlers.js';

export interface BrokerConfig {
  readonly listener: {
    readonly host: string;
    readonly port: number;
    /** Only PLAINTEXT exists until the security layer lands; SASL_SSL will become the default. */
    readonly protocol: 'PLAINTEXT';
  };
  readonly nodeId: number;
  readonly clusterId: string;
  readonly maxFrameBytes: number;
  /** Where topics, configs and (soon) partition logs live. */
  readonly dataDir: string;
  /** Create unknown topics named in Metadata requests (off by default, as it hides typos). */
  readonly autoCreateTopics: boolean;
  /** Partitions of a topic created without a count. */
  readonly defaultPartitions: number;
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = {
  listener: { host: '127.0.0.1', port: 9092, protocol: 'PLAINTEXT' },
  nodeId: 0,
  clusterId: 'parapet',
  maxFrameBytes: 100 * 1024 * 1024,
  dataDir: './parapet-data',
  autoCreateTopics: false,
  defaultPartitions: 1,
};

/** The standalone broker: one listener and the handlers of the APIs served so far. */
export class Broker {
  readonly #listener: Listener;
  readonly #store: MetadataStore;

  constructor(config: BrokerConfig, logger: Logger) {
    this.#store = new MetadataStore(config.dataDir);
    const topics = new TopicAdmin(this.#store, { defaultPartitions: config.defaultPartitions });
    const handlers = new Map<number, HandlerEntry>();
    const add = (entry: HandlerEntry) => handlers.set(entry.api.apiKey, entry);
    add(apiVersionsHandler(() => [...handlers.values()]));
    const identity = { nodeId: config.nodeId, clusterId: config.clusterId };
    add(metadataHandler(identity, topics, config.autoCreateTopics));
    add(describeClusterHandler(identity));
    for (const entry of [...topicHandlers(topics), ...configHandlers(topics, config.nodeId)]) add(entry);
    this.#listener = new Listener({
      host: config.listener.host,
      port: config.listener.port,
      maxFrameBytes: config.maxFrameBytes,
      handlers,
      logger,
    });
  }

  start(): Promise<{ host: string; port: number }> {
    return this.#listener.start();
  }

  /** Graceful shutdown: stop accepting, answer requests in flight, close connections. */
  async close(): Promise<void> {
    await this.#listener.close();
    this.#store.close();
  }
}
