import { ErrorCode } from '../protocol/error-codes.js';
import { AlterConfigs } from '../protocol/messages/alter-configs.js';
import { DescribeConfigs } from '../protocol/messages/describe-configs.js';
import { IncrementalAlterConfigs } from '../protocol/messages/incremental-alter-configs.js';
import { handler, type HandlerEntry } from '../server/handler.js';
import { effectiveValue } from './log-config.js';
import type { TopicAdmin } from './topic-admin.js';
import { TOPIC_CONFIGS } from './topic-configs.js';

/** Config resource types (ConfigResource.Type): only topics have configs here; the broker has none yet. */
const ResourceType = { TOPIC: 2, BROKER: 4 } as const;
/** Config sources reported by DescribeConfigs v1+. */
const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, DEFAULT_CONFIG: 5 } as const;
/** IncrementalAlterConfigs operations. */
const AlterOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const unsupported = (resourceType: number, resourceName: string) => ({
  errorCode: ErrorCode.INVALID_REQUEST,
  errorMessage: `config resource type ${resourceType} is not supported`,
  resourceType,
  resourceName,
});

/** DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topic configs. */
export function configHandlers(admin: TopicAdmin, nodeId: number): HandlerEntry[] {
  const describeConfigs = handler(DescribeConfigs, (body) => ({
    throttleTimeMs: 0,
    results: body.resources.map(({ resourceType, resourceName, configurationKeys }) => {
      if (resourceType === ResourceType.BROKER && resourceName === String(nodeId)) {
        return { errorCode: 0, errorMessage: null, resourceType, resourceName, configs: [] };
      }
      if (resourceType !== ResourceType.TOPIC) return { ...unsupported(resourceType, resourceName), configs: [] };
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
            synonyms: body.includeSynonyms === true ? [{ name, value, source }] : [],
            configType: def.type,
            documentation: null,
          },
        ];
      });
      return { errorCode: 0, errorMessage: null, resourceType, resourceName, configs };
    }),
  }));

  const alterConfigs = handler(AlterConfigs, (body) => ({
    throttleTimeMs: 0,
    responses: body.resources.map(({ resourceType, resourceName, configs }) => {
      if (resourceType !== ResourceType.TOPIC) return unsupported(resourceType, resourceName);
      // AlterConfigs replaces the whole set: keys not named go back to their defaults.
      const replace = Object.fromEntries(configs.filter((c) => c.value !== null).map((c) => [c.name, c.value as string]));
      const outcome = admin.alterConfigs(resourceName, { replace }, body.validateOnly);
      return { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, resourceType, resourceName };
    }),
  }));

  const incrementalAlterConfigs = handler(IncrementalAlterConfigs, (body) => ({
    throttleTimeMs: 0,
    responses: body.resources.map(({ resourceType, resourceName, configs }) => {
      if (resourceType !== ResourceType.TOPIC) return unsupported(resourceType, resourceName);
      const set: Record<string, string> = {};
      const remove: string[] = [];
      for (const c of configs) {
        if (c.configOperation === AlterOp.SET && c.value !== null) set[c.name] = c.value;
        else if (c.configOperation === AlterOp.DELETE) remove.push(c.name);
        else {
          // APPEND/SUBTRACT apply to list configs; none of ours is a multi-valued list.
          return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `operation ${c.configOperation} is not valid for ${c.name}`, resourceType, resourceName };
        }
      }
      const outcome = admin.alterConfigs(resourceName, { set, remove }, body.validateOnly);
      return { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, resourceType, resourceName };
    }),
  }));

  return [describeConfigs, alterConfigs, incrementalAlterConfigs];
}
