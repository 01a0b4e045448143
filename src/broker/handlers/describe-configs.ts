import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeConfigs } from '../../protocol/messages/describe-configs.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import { effectiveValue } from '../../topics/log-config.js';
import type { TopicAdmin } from '../../topics/topic-admin.js';
import { TOPIC_CONFIGS } from '../../topics/topic-configs.js';
import type { BrokerConfigEntry } from '../broker-configs.js';
import { ConfigResourceType, unsupportedResource } from './config-resources.js';

/** Config sources reported by DescribeConfigs v1+ (Kafka's ConfigSource). */
const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

/** Kafka's ConfigType (DescribeConfigs v3+), for the broker's values. */
const ConfigType = { BOOLEAN: 1, STRING: 2, LONG: 5 } as const;

/**
 * DescribeConfigs: every topic config with its value and source, and the broker's own settings
 * (./broker-configs.ts: read-only, from the config file) for resource BROKER.
 */
export function describeConfigsHandler(admin: TopicAdmin, nodeId: number, brokerConfigs: () => readonly BrokerConfigEntry[]): HandlerEntry {
  return handler(DescribeConfigs, (body) => ({
    throttleTimeMs: 0,
    results: body.resources.map(({ resourceType, resourceName, configurationKeys }) => {
      if (resourceType === ConfigResourceType.BROKER && resourceName === String(nodeId)) {
        const wanted = configurationKeys === null ? undefined : new Set(configurationKeys);
        const configs = brokerConfigs()
          .filter((c) => wanted === undefined || wanted.has(c.name))
          .map(({ name, value }) => ({
            name,
            value,
            readOnly: true,
            isDefault: false,
            configSource: ConfigSource.STATIC_BROKER_CONFIG,
            isSensitive: false,
            synonyms: body.includeSynonyms === true ? [{ name, value, source: ConfigSource.STATIC_BROKER_CONFIG }] : [],
            configType: value === 'true' || value === 'false' ? ConfigType.BOOLEAN : /^-?\d+$/.test(value) ? ConfigType.LONG : ConfigType.STRING,
            documentation: null,
          }));
        return { errorCode: 0, errorMessage: null, resourceType, resourceName, configs };
      }
      if (resourceType !== ConfigResourceType.TOPIC) return { ...unsupportedResource(resourceType, resourceName), configs: [] };
      const topic = admin.get(resourceName);
      if (topic === undefined) {
        return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown topic ${resourceName}`, resourceType, resourceName, configs: [] };
      }
      const keys = configurationKeys ?? Object.keys(TOPIC_CONFIGS);
      const configs = keys.flatMap((name) => {
        const def = TOPIC_CONFIGS[name];
        if (def === undefined) return [];
        const set = topic.configs[name];
        const source = set === undefined ? ConfigSource.DEFAULT_CONFIG : ConfigSource.DYNAMIC_TOPIC_CONFIG;
        // The value obeyed: one stored by an older version outside today's range shows as the bound
        // that applies instead (the start-up log names both).
        const value = effectiveValue(topic.configs, name, admin.configLimits);
        return [
          {
            name,
            value,
            readOnly: false,
            isDefault: set === undefined,
            configSource: source,
            isSensitive: false,
            // Kafka lists the synonyms in order of precedence: the topic's override, then the default.
            synonyms:
              body.includeSynonyms !== true
                ? []
                : set === undefined
                  ? [{ name, value, source }]
                  : [
                      { name, value, source },
                      { name, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG },
                    ],
            configType: def.type,
            documentation: body.includeDocumentation === true ? def.doc : null,
          },
        ];
      });
      return { errorCode: 0, errorMessage: null, resourceType, resourceName, configs };
    }),
  }));
}
