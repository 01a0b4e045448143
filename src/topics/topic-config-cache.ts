import type { LogConfig, TopicConfigSource } from '../storage/log/log-config.js';
import type { TopicStore } from '../storage/topic-store.js';
import { effectiveTopicConfig } from './log-config.js';
import type { TopicConfigLimits } from './topic-configs.js';

/**
 * The effective configs of each topic (its stored overrides over the defaults, within today's ranges),
 * as the logs read them on every append: kept here, read from the store only on a miss. Topic
 * administration forgets a topic's entry whenever it changes the topic.
 */
export class TopicConfigCache implements TopicConfigSource {
  readonly #store: TopicStore;
  readonly #limits: TopicConfigLimits;
  readonly #configs = new Map<string, LogConfig>();
  readonly #stored = new Map<string, Readonly<Record<string, string>>>();

  constructor(store: TopicStore, limits: TopicConfigLimits) {
    this.#store = store;
    this.#limits = limits;
  }

  /** The configs the data path obeys for `topic` (defaults for an unknown topic). */
  configFor(topic: string): LogConfig {
    let config = this.#configs.get(topic);
    if (config === undefined) {
      config = effectiveTopicConfig(this.#store.topic(topic)?.configs ?? {}, this.#limits);
      this.#configs.set(topic, config);
    }
    return config;
  }

  /**
   * The overrides stored for `topic` as they are (empty for an unknown topic), for the configs the logs
   * do not read: the record stages' (validation on produce reads them on every produce).
   */
  storedConfigs(topic: string): Readonly<Record<string, string>> {
    let stored = this.#stored.get(topic);
    if (stored === undefined) {
      const record = this.#store.topic(topic);
      stored = record?.configs ?? {};
      // Only existing topics are kept: the map is bounded by the topic count, not by the names clients send.
      if (record !== undefined) this.#stored.set(topic, stored);
    }
    return stored;
  }

  /** Drops what is kept for `topic`, after it was created, altered or deleted. */
  forget(topic: string): void {
    this.#configs.delete(topic);
    this.#stored.delete(topic);
  }
}
