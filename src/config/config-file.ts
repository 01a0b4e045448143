import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { BrokerConfig } from '../broker/broker.js';
import { PRINCIPAL_PREFIX } from '../security/config.js';
import { storageLimitsProblem } from '../topics/partition-limits.js';
import { ConfigError } from '../config-error.js';
import type { EncryptionAtRestConfig } from '../storage/crypto/key-setup.js';
import type { AdminEndpointConfig } from '../metrics/admin-endpoint-config.js';
import { absoluteSecretRef, SECRET_REF } from '../secret-ref.js';
import { parseCidr } from '../server/admission/cidr.js';
import { namePatternProblem, POLICY_NAME, type TopicPolicy } from '../topics/topic-policies.js';
import { TAG } from '../topics/topic-configs.js';
import { TOPIC_PATTERN } from '../topics/topic-pattern.js';
import { groupProblems, MAX_POLICIES, policyProblems, type MaskingConfig, type MaskingPolicy } from '../governance/masking/policy.js';
import type { SchemaRegistryConfig } from '../schemas/registry-limits.js';

/**
 * The broker's config file (YAML, or JSON, which YAML reads too). Every key is optional and overrides
 * the built-in default; command-line flags override the file. Unknown keys are errors, so a misspelt
 * setting can never be silently ignored.
 */
const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

const path = z.string().min(1);
const principal = z.templateLiteral(['User:', z.string().min(1)]);
const principalPrefix = z.string().regex(PRINCIPAL_PREFIX, 'a principal prefix is 1 to 64 printable ASCII characters without spaces, such as "oauth:"');

const TlsSchema = z.strictObject({
  certFile: path.optional(),
  keyFile: path.optional(),
  caFile: path.optional(),
  clientAuth: z.enum(['none', 'requested', 'required']).optional(),
  principalMapping: z
    .array(
      z.strictObject({
        source: z.enum(['subject', 'san-dns', 'san-email', 'san-uri']),
        match: z.string().min(1),
        principal: z.string().min(1),
        case: z.enum(['lower', 'upper']).optional(),
      }),
    )
    .optional(),
  principalPrefix: principalPrefix.optional(),
  crlFile: path.optional(),
  reloadIntervalMs: positiveInt.optional(),
});

const ms = (min: number, max: number) => z.number().int().min(min).max(max);
// The login guard (docs/security/network.md#brute-force-defence): each key overrides its default.
const LoginGuardSchema = z.strictObject({
    enabled: z.boolean().optional(),
    sourceFreeFailures: z.number().int().min(0).max(10_000).optional(),
    sourceWindowMs: ms(1000, 86_400_000).optional(),
    sourceDelayMs: ms(0, 60_000).optional(),
    sourceMaxDelayMs: ms(0, 60_000).optional(),
    sourceBlockAfterFailures: z.number().int().min(1).max(100_000).optional(),
    sourceBlockWindowMs: ms(1000, 86_400_000).optional(),
  sourceBlockMs: ms(0, 86_400_000).optional(),
    userGuardAfterFailures: z.number().int().min(1).max(100_000).optional(),
    userWindowMs: ms(1000, 86_400_000).optional(),
    userGuardMs: ms(0, 86_400_000).optional(),
    trustedSourceMs: ms(0, 90 * 86_400_000).optional(),
    maxTrackedSources: z.number().int().min(100).max(10_000_000).optional(),
    maxTrackedUsers: z.number().int().min(100).max(10_000_000).optional(),
    maxTrustedSources: z.number().int().min(100).max(10_000_000).optional(),
    reportIntervalMs: ms(1000, 3_600_000).optional(),
  });

const SaslSchema = z.strictObject({
  mechanisms: z.array(z.enum(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN', 'OAUTHBEARER'])).min(1).optional(),
  oauthbearer: z
    .strictObject({
      jwksUrl: z.url().optional(),
      jwksFile: path.optional(),
      issuer: z.string().min(1).optional(),
      audience: z.array(z.string().min(1)).optional(),
      clockSkewSeconds: z.number().int().min(0).max(600).optional(),
      principalClaim: z.string().min(1).optional(),
      principalPrefix: principalPrefix.optional(),
    })
    .optional(),
  failedAuthenticationDelayMs: z.number().int().min(0).max(60_000).optional(),
  loginGuard: LoginGuardSchema.optional(),
  maxUnauthenticatedFrameBytes: z.number().int().min(1024).max(1024 * 1024).optional(),
});

// An IPv4 or IPv6 block (10.0.0.0/8, 2001:db8::/32) or a bare address, checked as the listener will read it.
const cidr = z.string().superRefine((text, ctx) => {
  try {
    parseCidr(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});

const secretRef = z.string().regex(SECRET_REF, 'a secret is given by reference, ${file:/path} or ${env:NAME}, never written in the configuration');

const EncryptionAtRestSchema = z.strictObject({
  provider: z.enum(['local', 'pkcs11']).optional(),
  masterKey: secretRef.optional(),
  masterPassphrase: secretRef.optional(),
  pkcs11: z.strictObject({ module: path, tokenLabel: z.string().min(1), pin: secretRef }).optional(),
  // At most 2^32 batches per key: AES-GCM's bound for random nonces (NIST SP 800-38D).
  dataKeyMaxBatches: positiveInt.max(2 ** 32).optional(),
  dataKeyMaxBytes: positiveInt.optional(),
  dataKeyMaxAgeMs: z.number().int().min(1000).optional(),
  dataKeyCacheSize: positiveInt.optional(),
});

const AuditSchema = z.strictObject({
  enabled: z.boolean().optional(),
  dir: path.optional(),
  signingKey: secretRef.optional(),
  allowInsecureFailOpen: z.boolean().optional(),
  checkpointIntervalMs: z.number().int().min(100).max(3_600_000).optional(),
  maxFileBytes: z.number().int().min(64 * 1024).optional(),
  maxFiles: z.number().int().min(2).optional(),
  maxAgeMs: z.number().int().min(60_000).optional(),
  maxQueuedEvents: z.number().int().min(100).max(10_000_000).optional(),
  dataAccessIntervalMs: z.number().int().min(1000).max(3_600_000).optional(),
  topicRetentionMs: z.number().int().min(60_000).optional(),
});

// Monitoring (docs/operations/monitoring.md): the HTTP endpoint of /metrics, /healthz and /readyz.
const AdminEndpointSchema = z.strictObject({
  enabled: z.boolean().optional(),
  host: z.string().min(1).optional(),
  port: port.optional(),
  tls: z.strictObject({ certFile: path, keyFile: path, caFile: path.optional(), clientAuth: z.enum(['none', 'required']).optional() }).optional(),
  bearerToken: secretRef.optional(),
});

// Client quotas (docs/security/network.md, "Quotas"): Kafka's window and per-user defaults (0: no limit).
const QuotasSchema = z.strictObject({
  enabled: z.boolean().optional(),
  windowSeconds: z.number().int().min(1).max(3600).optional(),
  windowSamples: z.number().int().min(2).max(100).optional(),
  producerByteRate: z.number().int().min(0).optional(),
  consumerByteRate: z.number().int().min(0).optional(),
  requestPercentage: z.number().min(0).optional(),
  controllerMutationRate: z.number().min(0).optional(),
  maxEntities: positiveInt.max(1_000_000).optional(),
  maxTrackedClients: z.number().int().min(100).max(10_000_000).optional(),
});

// The access log of the least-privilege advisor (docs/security/least-privilege.md): on by default, bounded.
const AccessLogSchema = z.strictObject({
  enabled: z.boolean().optional(),
  maxEntries: z.number().int().min(100).max(10_000_000).optional(),
  maxEntriesPerPrincipal: z.number().int().min(10).max(10_000_000).optional(),
  maxPrincipals: z.number().int().min(10).max(10_000_000).optional(),
  flushIntervalMs: ms(100, 600_000).optional(),
});

// The schema registry (docs/governance/schemas.md#bounds): each limit overrides its default.
const SchemaRegistrySchema = z.strictObject({
  enabled: z.boolean().optional(),
  limits: z
    .strictObject({
      maxSchemaBytes: z.number().int().min(1024).max(16 * 1024 * 1024).optional(),
      maxSubjects: z.number().int().min(1).max(1_000_000).optional(),
      maxVersionsPerSubject: z.number().int().min(1).max(100_000).optional(),
      maxSchemas: z.number().int().min(1).max(1_000_000).optional(),
      maxReferences: z.number().int().min(0).max(10_000).optional(),
      maxSubjectLength: z.number().int().min(16).max(16_384).optional(),
      maxRequestBytes: z.number().int().min(4096).max(64 * 1024 * 1024).optional(),
      requestsPerSecond: z.number().int().min(1).max(100_000).optional(),
      requestBurst: z.number().int().min(1).max(1_000_000).optional(),
      compiledCacheSize: z.number().int().min(1).max(1_000_000).optional(),
      parsedCacheSize: z.number().int().min(1).max(1_000_000).optional(),
    })
    .optional(),
});

// Topic policies (docs/governance/topic-policies.md): bounds are checked against each other here, the
// name pattern compiled and checked for RE2-safety, so that a broker never starts with a policy it cannot apply.
const policyRange = (max: number) =>
  z
    .strictObject({ min: z.number().int().min(0).max(max).optional(), max: z.number().int().min(0).max(max).optional() })
    .refine((r) => r.min !== undefined || r.max !== undefined, 'give min, max or both')
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not be above max');
const TopicPolicySchema = z.strictObject({
  name: z.string().regex(POLICY_NAME, 'a policy name is 1 to 64 characters a-z, 0-9 and -'),
  // A topic name (at most 249 characters) or a glob over names: * and ? and the characters of a name.
  topics: z.string().regex(TOPIC_PATTERN, 'a topic name or a glob of one (letters, digits, . _ - and the wildcards * and ?)'),
  tags: z.array(z.string().regex(TAG, 'a tag is 1 to 32 characters a-z, 0-9 and -')).min(1).max(16).optional(),
  partitions: policyRange(2_147_483_647).optional(),
  namePattern: z
    .string()
    .min(1)
    .max(1000)
    .superRefine((pattern, ctx) => {
      const problem = namePatternProblem(pattern);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: `the pattern ${problem}` });
    })
    .optional(),
  retentionMs: policyRange(Number.MAX_SAFE_INTEGER).optional(),
  requireEncryption: z.boolean().optional(),
  requireValidation: z.boolean().optional(),
});
const TopicPoliciesSchema = z
  .array(TopicPolicySchema)
  .max(1000)
  .superRefine((policies, ctx) => {
    const seen = new Set<string>();
    policies.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `the policy name ${p.name} is used twice: each refusal names its policy, so names are unique` });
      seen.add(p.name);
    });
  });

// Masking on fetch (docs/governance/masking.md): the shapes here, the content (paths, rules, principals,
// groups, bounds) by the same checks `parapet mask add` goes through, so both sources accept the same.
const MaskingSchema = z
  .strictObject({
    principalGroups: z.record(z.string(), z.array(z.string())).optional(),
    policies: z
      .array(
        z.strictObject({
          name: z.string(),
          topics: z.array(z.string()),
          principals: z.array(z.string()).optional(),
          exempt: z.array(z.string()).optional(),
          fields: z.array(z.strictObject({ path: z.string(), rule: z.string(), part: z.enum(['value', 'key']).optional() })),
        }),
      )
      .max(MAX_POLICIES)
      .optional(),
  })
  .superRefine((m, ctx) => {
    const groups = m.principalGroups ?? {};
    for (const problem of groupProblems(groups)) ctx.addIssue({ code: 'custom', path: ['principalGroups'], message: problem });
    const seen = new Set<string>();
    (m.policies ?? []).forEach((p, i) => {
      for (const problem of policyProblems(maskingPolicyFromFile(p), groups)) ctx.addIssue({ code: 'custom', path: ['policies', i], message: problem });
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'name'], message: `the policy name ${p.name} is used twice` });
      seen.add(p.name);
    });
  });

export const ConfigFileSchema = z.strictObject({
  topicPolicies: TopicPoliciesSchema.optional(),
  masking: MaskingSchema.optional(),
  schemaRegistry: SchemaRegistrySchema.optional(),
  quotas: QuotasSchema.optional(),
  accessLog: AccessLogSchema.optional(),
  encryptionAtRest: EncryptionAtRestSchema.optional(),
  audit: AuditSchema.optional(),
  listener: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: port.optional(),
      protocol: z.enum(['SASL_SSL', 'SSL', 'SASL_PLAINTEXT', 'PLAINTEXT']).optional(),
      // Connection limits and address lists (docs/security/network.md#connection-limits-and-address-lists).
      maxConnections: z.union([z.literal('auto'), positiveInt]).optional(),
      maxConnectionsPerIp: z.union([z.literal('auto'), positiveInt]).optional(),
      maxConnectionsPerIpOverrides: z
        .array(z.strictObject({ cidr, max: z.number().int().min(0) }))
        .max(1000)
        .optional(),
      maxConnectionCreationRate: positiveInt.optional(),
      maxConnectionCreationRatePerIp: positiveInt.optional(),
      reservedFor: z.array(cidr).max(1000).optional(),
      reservedConnections: z.number().int().min(0).max(10_000).optional(),
      allow: z.array(cidr).max(10_000).optional(),
      deny: z.array(cidr).max(10_000).optional(),
    })
    .optional(),
  tls: TlsSchema.optional(),
  sasl: SaslSchema.optional(),
  superUsers: z.array(principal).optional(),
  allowInsecurePlaintext: z.boolean().optional(),
  allowInsecureAnonymous: z.boolean().optional(),
  allowInsecureNonLoopback: z.boolean().optional(),
  dataDir: z.string().min(1).optional(),
  nodeId: z.number().int().min(0).optional(),
  clusterId: z.string().min(1).optional(),
  maxFrameBytes: positiveInt.optional(),
  maxInFlightRequestsPerConnection: positiveInt.optional(),
  maxQueuedRequestBytesPerConnection: positiveInt.optional(),
  maxQueuedResponseBytesPerConnection: positiveInt.optional(),
  maxQueuedRequestBytes: positiveInt.optional(),
  maxQueuedResponseBytes: positiveInt.optional(),
  responseWriteTimeoutMs: z.number().int().min(100).optional(),
  authenticationTimeoutMs: z.number().int().min(100).max(300_000).optional(),
  connectionsMaxIdleMs: z.number().int().min(1000).optional(),
  // 0 turns it off (Kafka's default); otherwise at least a second, at most a week.
  connectionsMaxReauthMs: z.union([z.literal(0), z.number().int().min(1000).max(7 * 24 * 3_600_000)]).optional(),
  expireLegacySessions: z.boolean().optional(),
  autoCreateTopics: z.boolean().optional(),
  defaultPartitions: positiveInt.optional(),
  retentionCheckIntervalMs: positiveInt.optional(),
  // At least 1 KiB (a few dozen keys a pass: tests of the multi-pass path), at most 4 GiB.
  cleanerMemoryBytes: z.number().int().min(1024).max(4 * 1024 ** 3).optional(),
  cleanerIoBytesPerSecond: z.number().int().min(0).optional(),
  cleanerIntervalMs: positiveInt.optional(),
  // Transactions (docs/producers.md#transactions): Kafka's maximum transaction.max.timeout.ms is unbounded; a day here.
  transactionMaxTimeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
  transactionalIdExpirationMs: z.number().int().min(60_000).optional(),
  transactionAbortCheckIntervalMs: z.number().int().min(100).max(3_600_000).optional(),
  transactionMaxIds: positiveInt.optional(),
  transactionMaxIdsPerPrincipal: positiveInt.optional(),
  maxFetchBytes: positiveInt.optional(),
  maxFetchWaitMs: positiveInt.optional(),
  groupInitialRebalanceDelayMs: z.number().int().min(0).optional(),
  groupMinSessionTimeoutMs: positiveInt.optional(),
  groupMaxSessionTimeoutMs: positiveInt.optional(),
  // Consumer group bounds (docs/security/limits.md#consumer-groups).
  groupMaxSize: positiveInt.optional(),
  groupMaxProtocolsPerMember: positiveInt.optional(),
  groupMaxMemberMetadataBytes: positiveInt.optional(),
  groupMaxMetadataBytes: positiveInt.optional(),
  groupPendingMemberTimeoutMs: positiveInt.optional(),
  groupMaxGroups: positiveInt.optional(),
  groupMaxGroupsPerPrincipal: positiveInt.optional(),
  groupMaxMemoryBytesPerPrincipal: positiveInt.optional(),
  groupMaxOffsetBytesPerPrincipal: positiveInt.optional(),
  offsetMetadataMaxBytes: z.number().int().min(0).optional(),
  // Names (docs/security/limits.md): kept far below the 16,383 characters V8 hashes by content.
  maxGroupIdLength: z.number().int().min(1).max(4096).optional(),
  maxTransactionalIdLength: z.number().int().min(1).max(4096).optional(),
  maxClientIdLength: z.number().int().min(1).max(4096).optional(),
  // Storage bounds (docs/security/limits.md): partitions, open segment files, topic config minimums.
  maxPartitionsPerTopic: positiveInt.optional(),
  maxPartitions: positiveInt.optional(),
  maxOpenLogFiles: z.union([z.literal('auto'), z.number().int().min(8)]).optional(),
  logFileIdleMs: z.number().int().min(1000).optional(),
  // Kafka's own floors (14 bytes, 1 ms) up to the defaults of segment.bytes (1 GiB) and segment.ms (7 days).
  minSegmentBytes: z.number().int().min(14).max(1024 * 1024 * 1024).optional(),
  minSegmentMs: z.number().int().min(1).max(604_800_000).optional(),
  adminEndpoint: AdminEndpointSchema.optional(),
  allowInsecureAdminEndpoint: z.boolean().optional(),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

// Defined under every layer (the broker throws it too); config-file.ts stays where callers import it from.
export { ConfigError };

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

/**
 * Layers a config file over the defaults (the listener, tls and sasl sections key by key). Relative
 * paths in the file (dataDir, certificate files, the JWKS file) are relative to `baseDir`, the
 * directory of the config file.
 */
export function applyConfigFile(base: BrokerConfig, file: ConfigFile, baseDir?: string): BrokerConfig {
  const { listener, tls, sasl, superUsers, allowInsecurePlaintext, allowInsecureAnonymous, allowInsecureNonLoopback, encryptionAtRest, audit, adminEndpoint, quotas, accessLog, topicPolicies, masking, schemaRegistry, ...rest } = file;
  const at = (p: string | undefined) => (p === undefined || baseDir === undefined ? p : resolve(baseDir, p));
  const s = base.security;
  const oauth = sasl?.oauthbearer;
  const partitionLimits = storageLimitsProblem({ ...base, ...defined(rest) });
  if (partitionLimits !== null) throw new ConfigError(`invalid configuration: ${partitionLimits}`);
  return {
    ...base,
    ...defined({ ...rest, dataDir: at(rest.dataDir) }),
    listener: { ...base.listener, ...defined(listener ?? {}) },
    encryptionAtRest: encryptionAtRestOf(base.encryptionAtRest, encryptionAtRest, baseDir),
    audit: audit === undefined ? base.audit : { ...base.audit, ...defined({ ...audit, dir: at(audit.dir), signingKey: audit.signingKey === undefined ? undefined : absoluteSecretRef(audit.signingKey, baseDir) }) },
    adminEndpoint: adminEndpointOf(base.adminEndpoint, adminEndpoint, baseDir),
    quotas: { ...base.quotas, ...defined(quotas ?? {}) },
    accessLog: { ...base.accessLog, ...defined(accessLog ?? {}) },
    topicPolicies: topicPolicies === undefined ? base.topicPolicies : topicPolicies.map(policyFromFile),
    ...(masking === undefined ? {} : { masking: maskingFromFile(masking) }),
    schemaRegistry: schemaRegistryOf(base.schemaRegistry, schemaRegistry),
    security: {
      ...s,
      ...defined({ superUsers, allowInsecurePlaintext, allowInsecureAnonymous, allowInsecureNonLoopback }),
      tls: {
        ...s.tls,
        ...defined({
          ...tls,
          certFile: at(tls?.certFile),
          keyFile: at(tls?.keyFile),
          caFile: at(tls?.caFile),
          crlFile: at(tls?.crlFile),
          principalMapping: tls?.principalMapping?.map(({ case: letterCase, ...rule }) => (letterCase === undefined ? rule : { ...rule, case: letterCase })),
        }),
      },
      sasl: {
        ...s.sasl,
        ...defined({
          ...sasl,
          oauthbearer: oauth === undefined ? undefined : defined({ ...oauth, jwksFile: at(oauth.jwksFile) }),
          loginGuard: sasl?.loginGuard === undefined ? undefined : { ...s.sasl.loginGuard, ...defined(sasl.loginGuard) },
        }),
      },
    },
  };
}

/** The file's encryption settings over the defaults, relative paths (the module, `${file:…}`) made absolute. */
function encryptionAtRestOf(base: EncryptionAtRestConfig, file: ConfigFile['encryptionAtRest'], baseDir: string | undefined): EncryptionAtRestConfig {
  if (file === undefined) return base;
  const ref = (r: string | undefined) => (r === undefined ? undefined : absoluteSecretRef(r, baseDir));
  const { pkcs11, ...rest } = file;
  return {
    ...base,
    ...defined({ ...rest, masterKey: ref(rest.masterKey), masterPassphrase: ref(rest.masterPassphrase) }),
    ...(pkcs11 === undefined ? {} : { pkcs11: { ...pkcs11, module: baseDir === undefined ? pkcs11.module : resolve(baseDir, pkcs11.module), pin: ref(pkcs11.pin) ?? pkcs11.pin } }),
  };
}

/** The file's registry settings over the defaults, limit by limit. */
function schemaRegistryOf(base: SchemaRegistryConfig, file: ConfigFile['schemaRegistry']): SchemaRegistryConfig {
  if (file === undefined) return base;
  return { enabled: file.enabled ?? base.enabled, limits: { ...base.limits, ...defined(file.limits ?? {}) } };
}

/** The file's admin endpoint settings over the defaults, its paths and `${file:…}` token made absolute. */
function adminEndpointOf(base: AdminEndpointConfig, file: ConfigFile['adminEndpoint'], baseDir: string | undefined): AdminEndpointConfig {
  if (file === undefined) return base;
  const at = (p: string) => (baseDir === undefined ? p : resolve(baseDir, p));
  const { tls, bearerToken, ...rest } = file;
  return {
    ...base,
    ...defined(rest),
    ...(tls === undefined ? {} : { tls: { ...defined(tls), certFile: at(tls.certFile), keyFile: at(tls.keyFile), ...(tls.caFile === undefined ? {} : { caFile: at(tls.caFile) }) } }),
    ...(bearerToken === undefined ? {} : { bearerToken: absoluteSecretRef(bearerToken, baseDir) }),
  };
}

/** The object without its undefined entries (exactOptionalPropertyTypes: absent, not undefined). */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/**
 * The effective configuration in the config file's own layout (what `check-config` prints): a file
 * holding exactly this configures the same broker. Security settings sit at the top level, as in the
 * file, not under the `security` object the broker uses inside.
 */
export function toConfigFile(config: BrokerConfig): ConfigFile {
  const { listener, security, topicPolicies, masking, schemaRegistry, ...rest } = config;
  const { tls, sasl, superUsers, allowInsecurePlaintext, allowInsecureAnonymous, allowInsecureNonLoopback } = security;
  const oauthbearer = sasl.oauthbearer;
  const { audience, ...withoutAudience } = oauthbearer ?? {};
  return {
    listener: listenerOf(listener),
    tls: { ...tls, principalMapping: tls.principalMapping.map((rule) => ({ ...rule })) },
    sasl: {
      mechanisms: [...sasl.mechanisms],
      ...(oauthbearer === undefined ? {} : { oauthbearer: { ...withoutAudience, ...(audience === undefined ? {} : { audience: [...audience] }) } }),
      failedAuthenticationDelayMs: sasl.failedAuthenticationDelayMs,
      loginGuard: { ...sasl.loginGuard },
      maxUnauthenticatedFrameBytes: sasl.maxUnauthenticatedFrameBytes,
    },
    superUsers: superUsers.map((p) => principalOf(p)),
    allowInsecurePlaintext,
    allowInsecureAnonymous,
    allowInsecureNonLoopback,
    ...rest,
    topicPolicies: topicPolicies.map(policyOf),
    ...(masking === undefined ? {} : { masking: maskingOf(masking) }),
    schemaRegistry: { enabled: schemaRegistry.enabled, limits: { ...schemaRegistry.limits } },
  };
}

/** The file's masking section without its absent keys (exactOptionalPropertyTypes). */
function maskingFromFile(m: NonNullable<ConfigFile['masking']>): MaskingConfig {
  return {
    ...(m.principalGroups === undefined ? {} : { principalGroups: m.principalGroups }),
    policies: (m.policies ?? []).map(maskingPolicyFromFile),
  };
}

function maskingPolicyFromFile({ principals, exempt, fields, ...p }: NonNullable<NonNullable<ConfigFile['masking']>['policies']>[number]): MaskingPolicy {
  return {
    ...p,
    ...(principals === undefined ? {} : { principals }),
    ...(exempt === undefined ? {} : { exempt }),
    fields: fields.map(({ part, ...f }) => (part === undefined ? f : { ...f, part })),
  };
}

/** The masking section in the file's (mutable) types. */
function maskingOf(m: MaskingConfig): NonNullable<ConfigFile['masking']> {
  return {
    ...(m.principalGroups === undefined ? {} : { principalGroups: Object.fromEntries(Object.entries(m.principalGroups).map(([k, v]) => [k, [...v]])) }),
    policies: (m.policies ?? []).map((p) => ({
      name: p.name,
      topics: [...p.topics],
      ...(p.principals === undefined ? {} : { principals: [...p.principals] }),
      ...(p.exempt === undefined ? {} : { exempt: [...p.exempt] }),
      fields: p.fields.map((f) => ({ ...f })),
    })),
  };
}

/** A policy of the file without its absent keys (exactOptionalPropertyTypes). */
function policyFromFile(p: NonNullable<ConfigFile['topicPolicies']>[number]): TopicPolicy {
  const { partitions, retentionMs, ...rest } = p;
  return {
    ...defined(rest),
    name: p.name,
    topics: p.topics,
    ...(partitions === undefined ? {} : { partitions: defined(partitions) }),
    ...(retentionMs === undefined ? {} : { retentionMs: defined(retentionMs) }),
  };
}

/** A policy in the file's (mutable) types. */
function policyOf(p: TopicPolicy): NonNullable<ConfigFile['topicPolicies']>[number] {
  const { tags, partitions, retentionMs, ...rest } = p;
  return {
    ...rest,
    ...(tags === undefined ? {} : { tags: [...tags] }),
    ...(partitions === undefined ? {} : { partitions: { ...partitions } }),
    ...(retentionMs === undefined ? {} : { retentionMs: { ...retentionMs } }),
  };
}

/** The listener section with its lists copied (the file's types are mutable). */
function listenerOf(listener: BrokerConfig['listener']): NonNullable<ConfigFile['listener']> {
  const { maxConnectionsPerIpOverrides, reservedFor, allow, deny, ...rest } = listener;
  return {
    ...rest,
    ...(reservedFor === undefined ? {} : { reservedFor: [...reservedFor] }),
    ...(maxConnectionsPerIpOverrides === undefined ? {} : { maxConnectionsPerIpOverrides: maxConnectionsPerIpOverrides.map((o) => ({ ...o })) }),
    ...(allow === undefined ? {} : { allow: [...allow] }),
    ...(deny === undefined ? {} : { deny: [...deny] }),
  };
}

function principalOf(p: string): `User:${string}` {
  if (!p.startsWith('User:')) throw new ConfigError(`superUsers: ${p} is not a User: principal`);
  return p as `User:${string}`;
}
