import type { Logger } from '../logger.js';
import { Listener } from '../server/listener.js';
import type { HandlerEntry } from '../server/dispatcher.js';
import { apiVersionsHandler } from './api-versions.js';
import { metadataHandler } from './metadata.js';

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
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = {
  listener: { host: '127.0.0.1', port: 9092, protocol: 'PLAINTEXT' },
  nodeId: 0,
  clusterId: 'parapet',
  maxFrameBytes: 100 * 1024 * 1024,
};

/** The standalone broker: one listener and the handlers of the APIs served so far. */
export class Broker {
  readonly #listener: Listener;

  constructor(config: BrokerConfig, logger: Logger) {
    const handlers = new Map<number, HandlerEntry>();
    const add = (entry: HandlerEntry) => handlers.set(entry.api.apiKey, entry);
    add(apiVersionsHandler(() => [...handlers.values()]));
    add(metadataHandler({ nodeId: config.nodeId, clusterId: config.clusterId }));
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
  close(): Promise<void> {
    return this.#listener.close();
  }
}
