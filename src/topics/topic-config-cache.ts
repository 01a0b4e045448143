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

  /** Drops what is kept for `topic`, after it was created, altered or deleted. */
  forget(topic: string): void {
    this.#configs.delete(topic);
  }
}
