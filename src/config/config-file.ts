import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { BrokerConfig } from '../broker/broker.js';

/**
 * The broker's config file (YAML, or JSON, which YAML reads too). Every key is optional and overrides
 * the built-in default; command-line flags override the file. Unknown keys are errors, so a misspelt
 * setting can never be silently ignored.
 */
const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

export const ConfigFileSchema = z.strictObject({
  listener: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: port.optional(),
      // Only PLAINTEXT until the security layer lands; SASL_SSL will become the default.
      protocol: z.literal('PLAINTEXT').optional(),
    })
    .optional(),
  dataDir: z.string().min(1).optional(),
  nodeId: z.number().int().min(0).optional(),
  clusterId: z.string().min(1).optional(),
  maxFrameBytes: positiveInt.optional(),
  autoCreateTopics: z.boolean().optional(),
  defaultPartitions: positiveInt.optional(),
  retentionCheckIntervalMs: positiveInt.optional(),
  maxFetchBytes: positiveInt.optional(),
  groupInitialRebalanceDelayMs: z.number().int().min(0).optional(),
  groupMinSessionTimeoutMs: positiveInt.optional(),
  groupMaxSessionTimeoutMs: positiveInt.optional(),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses and validates config file text; errors name the file, the key path and the problem. */
export function parseConfigFile(text: string, source: string): ConfigFile {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = ConfigFileSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ConfigError(`${source}: invalid configuration\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

export function loadConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as { code?: string }).code ?? String(err)}`);
  }
  return parseConfigFile(text, path);
}

/** Layers a config file over the defaults (the listener section key by key). */
export function applyConfigFile(base: BrokerConfig, file: ConfigFile): BrokerConfig {
  const { listener, ...rest } = file;
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
  return { ...base, ...defined(rest), listener: { ...base.listener, ...defined(listener ?? {}) } };
}
