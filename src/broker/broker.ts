import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import { DEFAULT_AUDIT_CONFIG, type AuditConfig } from '../audit/audit-config.js';
import { UnsealPool } from '../storage/crypto/unseal-pool.js';
import { DEFAULT_ENCRYPTION_AT_REST, openKeyServices, type EncryptionAtRestConfig, type OpenedKeyServices } from '../storage/crypto/key-setup.js';
import { DEFAULT_NAME_LIMITS } from '../protocol/names.js';
import { BufferPool } from '../server/buffer-pool.js';
import { Listener, type InjectOptions } from '../server/listener.js';
import type { InjectedResponse } from '../server/inject.js';
import type { StageFactory } from '../server/stages/stage.js';
import { MemoryBudget } from '../server/memory-budget.js';
import { LogManager } from '../storage/log/log-manager.js';
import { DEFAULT_CLEANER_SETTINGS } from '../storage/compaction/log-cleaner.js';
import { DEFAULT_TRANSACTION_SETTINGS } from '../transactions/transaction-limits.js';
import { TransactionCoordinator } from '../transactions/transaction-coordinator.js';
import type { LogFs } from '../storage/log/log-fs.js';
import { MetadataStore } from '../storage/metadata-store.js';
import { DataDirLock } from '../storage/data-dir-lock.js';
import { GroupCoordinator } from '../groups/coordinator.js';
import { realScheduler, type Scheduler } from '../groups/scheduler.js';
import { DEFAULT_MAX_METADATA_LENGTH, DEFAULT_OFFSET_RETENTION_CHECK_INTERVAL_MS, OffsetManager } from '../groups/offsets.js';
import { DEFAULT_GROUP_REGISTRY_LIMITS, GroupRegistry } from '../groups/group-registry.js';
import { DEFAULT_GROUP_SIZE_LIMITS } from '../groups/limits.js';
import { ProducerIdStore } from '../storage/producer-ids.js';
import { TopicAdmin } from '../topics/topic-admin.js';
import type { TopicPolicy } from '../topics/topic-policies.js';
import { TopicConfigCache } from '../topics/topic-config-cache.js';
import { DEFAULT_TOPIC_CONFIG_LIMITS } from '../topics/topic-configs.js';
import { derivedMaxOpenLogFiles, OTHER_DESCRIPTORS, processOpenFileLimit } from '../storage/log/fd-limit.js';
import { ConfigError } from '../config-error.js';
import { storageLimitsProblem } from '../topics/partition-limits.js';
import { DEFAULT_SECURITY_CONFIG, type ListenerProtocol, type SecurityConfig } from '../security/config.js';
import { fanOutSecurityEvents, loggingSecurityEvents, type SecurityEvents } from '../security/events.js';
import { ANONYMOUS } from '../security/types.js';
import type { BrokerAudit } from '../audit/broker-audit.js';
import { createBrokerAudit } from './audit-setup.js';
import { AuditTopicCopy } from '../audit/audit-topic.js';
import type { AuditFs } from '../audit/audit-fs.js';
import { auditWarnings } from '../audit/audit-config.js';
import { brokerConfigEntries } from './broker-configs.js';
import { settingsInForce } from './settings-in-force.js';
import { INTERNAL_TOPICS } from '../topics/internal-topics.js';
import { productVersion } from '../version.js';
import { checkAdminEndpoint, DEFAULT_ADMIN_ENDPOINT, type AdminEndpointConfig } from '../metrics/admin-endpoint-config.js';
import { AdminServer, type AdminServerLimits } from '../metrics/admin-server.js';
import { BrokerMetrics } from '../metrics/broker-metrics.js';
import type { ReadinessCheck } from '../metrics/readiness.js';
import { metricsSecurityEvents } from '../metrics/security-event-metrics.js';
import { brokerReadinessChecks, brokerScrapeSources, logObserverOf } from './monitoring.js';
import { brokerHandlers } from './handlers/index.js';
import { WaitingFetches } from './handlers/fetch/waiting-fetches.js';
import { createBrokerSecurity, passwordVerifier, watchCertificates } from './security-setup.js';
import type { LoginGuard } from '../security/login-guard/login-guard.js';
import { DEFAULT_LISTENER_ADMISSION, resolveAdmissionPolicy, type AdmissionPolicy, type ListenerAdmissionInput, type ListenerAdmissionSettings } from '../server/admission/admission-policy.js';
import { SessionRegistry } from '../server/session-registry.js';
import { Containment, shutOutPasswordVerifier } from '../security/containment/containment.js';
import { DEFAULT_QUOTA_CONFIG, type QuotaConfig } from '../quotas/quota-config.js';
import { QuotaManager } from '../quotas/quota-manager.js';
import { ThrottleReports } from '../quotas/throttle-reports.js';
import { DEFAULT_ACCESS_LOG_CONFIG, type AccessLogConfig } from '../security/access-log/access-log-config.js';
import { AccessLog } from '../security/access-log/access-log.js';
import { recordingAuthorizer } from '../security/access-log/recording-authorizer.js';
import { credentialSetTimesJson } from '../security/credentials/credential-age.js';
import { CaptureRegistry, type HeldCapture } from '../backup/capture/index.js';
import { userPrincipal, type Principal } from '../security/types.js';
import type { TLSSocket } from 'node:tls';
import { compilePrincipalMappingRules, mapCertificatePrincipal } from '../security/tls/principal-mapping.js';
import { SchemaRegistry } from '../schemas/registry.js';
import type { SchemaLookup } from '../schemas/types.js';
import { DEFAULT_SCHEMA_REGISTRY_CONFIG, type SchemaRegistryConfig } from '../schemas/registry-limits.js';
import { VerifiedCredentialCache } from '../metrics/admin-credential-cache.js';
import type { MaskingConfig } from '../governance/masking/policy.js';
import { MaskingRegistry } from '../governance/masking/registry.js';
import { topicValidation } from '../governance/validation/settings.js';
import type { ValidationRefusal } from '../server/stages/record-validation.js';

/** The schemas a broker without its registry knows: none, so a topic asking for validation refuses every record. */
const NO_SCHEMAS: SchemaLookup = {
  schemaById: () => undefined,
  subjectHasId: () => false,
  compiled: () => ({ error: 'the schema registry is disabled (schemaRegistry.enabled: false)' }),
};

export interface BrokerConfig {
  /** Where clients connect, and (ListenerAdmissionSettings) who may and how many: absent limits are the defaults. */
  readonly listener: {
    readonly host: string;
    readonly port: number;
    /** SASL_SSL by default; anything weaker must be allowed by name in `security`. */
    readonly protocol: ListenerProtocol;
  } & ListenerAdmissionSettings;
  /** TLS, SASL, super users and the `allowInsecure…` switches (docs/security/). */
  readonly security: SecurityConfig;
  readonly nodeId: number;
  readonly clusterId: string;
  /** Largest request frame (Kafka's socket.request.max.bytes); a larger size prefix closes the connection. */
  readonly maxFrameBytes: number;
  /** Requests read from one connection and not yet answered (docs/security/limits.md). */
  readonly maxInFlightRequestsPerConnection: number;
  /** Request bytes one connection may have read and not yet handled; one frame of any size always fits. */
  readonly maxQueuedRequestBytesPerConnection: number;
  /** Response bytes one connection's socket has not taken, at which it reads and starts nothing more. */
  readonly maxQueuedResponseBytesPerConnection: number;
  /** Request bytes read and not yet handled across all connections (Kafka's queued.max.request.bytes, KIP-72). */
  readonly maxQueuedRequestBytes: number;
  /** Response bytes not yet taken by the sockets across all connections. */
  readonly maxQueuedResponseBytes: number;
  /** A client that takes none of the responses waiting for it for this long is closed. */
  readonly responseWriteTimeoutMs: number;
  /** A connection must finish logging in (SASL) this long after it is accepted, or it is closed. */
  readonly authenticationTimeoutMs: number;
  /** A connection with nothing sent, answered or waited for this long is closed (Kafka's connections.max.idle.ms). */
  readonly connectionsMaxIdleMs: number;
  /**
   * A SASL login lasts this long, then the client must re-authenticate or is closed at its next request
   * (Kafka's connections.max.reauth.ms, KIP-368); an OAUTHBEARER login also ends with its token. 0: no limit.
   */
  readonly connectionsMaxReauthMs: number;
  /**
   * Whether connectionsMaxReauthMs also closes the clients that cannot re-authenticate (kafka-python 2.0.2,
   * librdkafka before 2.2) when their session ends, as Kafka does. Off by default: kcat exits when its
   * connection is closed, and their SCRAM logins end anyway when the credential is changed or deleted.
   */
  readonly expireLegacySessions: boolean;
  /** Where topics, configs and (soon) partition logs live. */
  readonly dataDir: string;
  /** Create unknown topics named in Metadata requests (off by default, as it hides typos). */
  readonly autoCreateTopics: boolean;
  /** Partitions of a topic created without a count. */
  readonly defaultPartitions: number;
  /** Declared topic policies, checked on every topic create and change (docs/governance/topic-policies.md); default none. */
  readonly topicPolicies: readonly TopicPolicy[];
  /** Masking on fetch per principal, the config file's policies and groups (docs/governance/masking.md); default none. */
  readonly masking?: MaskingConfig;
  /** How often retention looks for whole segments to delete (Kafka's log.retention.check.interval.ms). */
  readonly retentionCheckIntervalMs: number;
  /** The compaction cleaner's offset map, in bytes: its memory for keys (Kafka's log.cleaner.dedupe.buffer.size). */
  readonly cleanerMemoryBytes: number;
  /** The cleaner's reads and writes a second, in bytes; 0 for no limit (Kafka's log.cleaner.io.max.bytes.per.second). */
  readonly cleanerIoBytesPerSecond: number;
  /** How often the cleaner looks for compacted partitions to clean (Kafka's log.cleaner.backoff.ms). */
  readonly cleanerIntervalMs: number;
  /** Kafka's transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for. */
  readonly transactionMaxTimeoutMs: number;
  /** Kafka's transactional.id.expiration.ms: a transactional id unused this long is forgotten. */
  readonly transactionalIdExpirationMs: number;
  /** How often transactions open past their timeout are looked for and aborted. */
  readonly transactionAbortCheckIntervalMs: number;
  /** Transactional ids the broker holds at once. */
  readonly transactionMaxIds: number;
  /** Transactional ids one principal holds at once. */
  readonly transactionMaxIdsPerPrincipal: number;
  /** Most record bytes in one Fetch response, whatever the client asks for (Kafka's fetch.max.bytes). */
  readonly maxFetchBytes: number;
  /** Longest a Fetch waits for data (its max_wait_ms is capped to this), in ms. */
  readonly maxFetchWaitMs: number;
  /** A first join into an empty group waits this long for more members (group.initial.rebalance.delay.ms). */
  readonly groupInitialRebalanceDelayMs: number;
  /** Accepted consumer session timeouts (group.min/max.session.timeout.ms). */
  readonly groupMinSessionTimeoutMs: number;
  readonly groupMaxSessionTimeoutMs: number;
  // Consumer group bounds (docs/security/limits.md#consumer-groups; GroupSizeLimits, GroupRegistryLimits).
  /** Members and pending member ids of one group (Kafka's group.max.size). */
  readonly groupMaxSize: number;
  readonly groupMaxProtocolsPerMember: number;
  /** One member's protocol names and metadata; one member's assignment. */
  readonly groupMaxMemberMetadataBytes: number;
  /** A group's protocol metadata and assignments, all members together. */
  readonly groupMaxMetadataBytes: number;
  /** A member id handed out with MEMBER_ID_REQUIRED expires after this (or its session timeout). */
  readonly groupPendingMemberTimeoutMs: number;
  readonly groupMaxGroups: number;
  readonly groupMaxGroupsPerPrincipal: number;
  readonly groupMaxMemoryBytesPerPrincipal: number;
  readonly groupMaxOffsetBytesPerPrincipal: number;
  /** Kafka's offset.metadata.max.bytes (counted in UTF-16 code units, as Kafka's String.length). */
  readonly offsetMetadataMaxBytes: number;
  /** Bounds of client-chosen names (docs/security/limits.md, "Names"); topic names follow Kafka's fixed rule. */
  readonly maxGroupIdLength: number;
  readonly maxTransactionalIdLength: number;
  readonly maxClientIdLength: number;
  // Storage bounds (docs/security/limits.md, "Partitions, open files and topic configs").
  /** Most partitions one topic may have: CreateTopics and CreatePartitions answer INVALID_PARTITIONS above it. */
  readonly maxPartitionsPerTopic: number;
  /** Most partitions of all topics together: POLICY_VIOLATION above it. */
  readonly maxPartitions: number;
  /** Most segment files open at once (an LRU); `auto`: half the open-file limit, within 32–10,000. */
  readonly maxOpenLogFiles: number | 'auto';
  /** A segment file unused this long is closed (once its writes are synced): idle partitions hold no descriptor. */
  readonly logFileIdleMs: number;
  /** Smallest segment.bytes a topic may set (Kafka 4's minimum, KIP-1030). */
  readonly minSegmentBytes: number;
  /** Smallest segment.ms a topic may set (the minimum KIP-1030 plans for Kafka 5). */
  readonly minSegmentMs: number;
  /** Encryption at rest: where the keys are and how long a data key is used (docs/security/encryption-at-rest.md). */
  readonly encryptionAtRest: EncryptionAtRestConfig;
  /** The tamper-evident audit trail: its files, signing key, retention, and failing closed (docs/security/audit.md). */
  readonly audit: AuditConfig;
  // Monitoring (docs/operations/monitoring.md).
  /** The HTTP admin endpoint: /metrics, /healthz, /readyz; loopback by default. */
  readonly adminEndpoint: AdminEndpointConfig;
  /** Allows the admin endpoint on a non-loopback address without TLS and a bearer token or client certificates. */
  readonly allowInsecureAdminEndpoint: boolean;
  /** Client quotas: Kafka's window, per-user defaults and bounds (docs/security/network.md, "Quotas"). */
  readonly quotas: QuotaConfig;
  /** Observed access and logins, for the least-privilege advisor (docs/security/least-privilege.md). */
  readonly accessLog: AccessLogConfig;
  /** The schema registry on the admin endpoint and its bounds (docs/governance/schemas.md). */
  readonly schemaRegistry: SchemaRegistryConfig;
}

/** What tests may replace: the clock (segment.ms, retention.ms, LogAppendTime) and the file system of the logs. */
export interface BrokerDeps {
  readonly clock?: () => number;
  readonly fs?: LogFs;
  /** Timers of the group coordinator (session timeouts, rebalance delays). */
  readonly scheduler?: Scheduler;
  /**
   * Where authentications, denials and refused connections are reported besides the audit trail
   * (default: the log).
   */
  readonly events?: SecurityEvents;
  /** The file system of the audit files (tests inject a full disk). */
  readonly auditFs?: AuditFs;
  /**
   * The data directory's lock, when the caller took it before (to initialise the directory under it).
   * The broker owns it from then on and releases it when it closes or fails to construct.
   */
  readonly lock?: DataDirLock;
  /**
   * Stages added to every request's pipeline, after the broker's own (src/server/dispatcher.ts,
   * requestStages): they see only what authorization let through, and the handler's response first.
   */
  readonly stages?: readonly StageFactory[];
  /** Hears of every partition validation on produce refused (besides the metric): tests. */
  readonly onValidationRefused?: (refusal: ValidationRefusal) => void;
  /** The keys of encryption at rest, opened by the caller (a test's provider); default: from `encryptionAtRest`. */
  readonly keys?: OpenedKeyServices;
  /** Where the broker's metrics go; default: a registry of its own when the admin endpoint is enabled, else none. */
  readonly metrics?: BrokerMetrics;
  /** More conditions of /readyz, beside the broker's own (listener up, storage writable, no offline partition). */
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** The admin endpoint's connection and timeout bounds (tests shorten them); default: DEFAULT_ADMIN_SERVER_LIMITS. */
  readonly adminServerLimits?: AdminServerLimits;
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = {
  listener: { host: '127.0.0.1', port: 9092, protocol: 'SASL_SSL', ...DEFAULT_LISTENER_ADMISSION },
  security: DEFAULT_SECURITY_CONFIG,
  nodeId: 0,
  clusterId: 'parapet',
  maxFrameBytes: 100 * 1024 * 1024,
  maxInFlightRequestsPerConnection: 64,
  maxQueuedRequestBytesPerConnection: 16 * 1024 * 1024,
  maxQueuedResponseBytesPerConnection: 4 * 1024 * 1024,
  maxQueuedRequestBytes: 64 * 1024 * 1024,
  maxQueuedResponseBytes: 64 * 1024 * 1024,
  responseWriteTimeoutMs: 60_000,
  // The TLS handshake has 10 s of its own before it; every client logs in within a second or two.
  authenticationTimeoutMs: 10_000,
  connectionsMaxIdleMs: 600_000,
  // An hour: a token revoked at its issuer stops working within it on every connection that can log in
  // again (KIP-368); a changed or deleted password ends its logins at once, and clients that cannot
  // re-authenticate are kept unless expireLegacySessions (docs/security/network.md).
  connectionsMaxReauthMs: 3_600_000,
  expireLegacySessions: false,
  dataDir: './parapet-data',
  autoCreateTopics: false,
  defaultPartitions: 1,
  topicPolicies: [],
  retentionCheckIntervalMs: 5 * 60 * 1000,
  cleanerMemoryBytes: DEFAULT_CLEANER_SETTINGS.memoryBytes,
  cleanerIoBytesPerSecond: DEFAULT_CLEANER_SETTINGS.ioBytesPerSecond,
  cleanerIntervalMs: DEFAULT_CLEANER_SETTINGS.intervalMs,
  transactionMaxTimeoutMs: DEFAULT_TRANSACTION_SETTINGS.maxTimeoutMs,
  transactionalIdExpirationMs: DEFAULT_TRANSACTION_SETTINGS.idExpirationMs,
  transactionAbortCheckIntervalMs: DEFAULT_TRANSACTION_SETTINGS.abortCheckIntervalMs,
  transactionMaxIds: DEFAULT_TRANSACTION_SETTINGS.maxTransactionalIds,
  transactionMaxIdsPerPrincipal: DEFAULT_TRANSACTION_SETTINGS.maxTransactionalIdsPerPrincipal,
  maxFetchBytes: 55 * 1024 * 1024,
  // The longest default of the common clients (KafkaJS maxWaitTimeInMs, franz-go FetchMaxWait); the
  // Java consumer, librdkafka and kafka-python wait 500 ms. docs/security/limits.md.
  maxFetchWaitMs: 5000,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupMaxSize: DEFAULT_GROUP_SIZE_LIMITS.maxGroupSize,
  groupMaxProtocolsPerMember: DEFAULT_GROUP_SIZE_LIMITS.maxProtocolsPerMember,
  groupMaxMemberMetadataBytes: DEFAULT_GROUP_SIZE_LIMITS.maxMemberMetadataBytes,
  groupMaxMetadataBytes: DEFAULT_GROUP_SIZE_LIMITS.maxGroupMetadataBytes,
  groupPendingMemberTimeoutMs: DEFAULT_GROUP_SIZE_LIMITS.pendingMemberTimeoutMs,
  groupMaxGroups: DEFAULT_GROUP_REGISTRY_LIMITS.maxGroups,
  groupMaxGroupsPerPrincipal: DEFAULT_GROUP_REGISTRY_LIMITS.maxGroupsPerPrincipal,
  groupMaxMemoryBytesPerPrincipal: DEFAULT_GROUP_REGISTRY_LIMITS.maxMemoryBytesPerPrincipal,
  groupMaxOffsetBytesPerPrincipal: DEFAULT_GROUP_REGISTRY_LIMITS.maxOffsetBytesPerPrincipal,
  offsetMetadataMaxBytes: DEFAULT_MAX_METADATA_LENGTH,
  maxGroupIdLength: DEFAULT_NAME_LIMITS.maxGroupIdLength,
  maxTransactionalIdLength: DEFAULT_NAME_LIMITS.maxTransactionalIdLength,
  maxClientIdLength: DEFAULT_NAME_LIMITS.maxClientIdLength,
  maxPartitionsPerTopic: 1000,
  maxPartitions: 10_000,
  maxOpenLogFiles: 'auto',
  logFileIdleMs: 60_000,
  minSegmentBytes: DEFAULT_TOPIC_CONFIG_LIMITS.minSegmentBytes,
  minSegmentMs: DEFAULT_TOPIC_CONFIG_LIMITS.minSegmentMs,
  encryptionAtRest: DEFAULT_ENCRYPTION_AT_REST,
  audit: DEFAULT_AUDIT_CONFIG,
  adminEndpoint: DEFAULT_ADMIN_ENDPOINT,
  allowInsecureAdminEndpoint: false,
  quotas: DEFAULT_QUOTA_CONFIG,
  accessLog: DEFAULT_ACCESS_LOG_CONFIG,
  schemaRegistry: DEFAULT_SCHEMA_REGISTRY_CONFIG,
};

/** The standalone broker: one listener, the metadata store, the partition logs and the API handlers. */
export class Broker {
  readonly #listener: Listener;
  readonly #lock: DataDirLock;
  readonly #store: MetadataStore;
  readonly #logs: LogManager;
  readonly #groups: GroupCoordinator;
  readonly #logger: Logger;
  readonly #shutdown = new AbortController();
  readonly #retentionIntervalMs: number;
  #retentionTimer: NodeJS.Timeout | undefined;
  readonly #logFileIdleMs: number;
  #idleFilesTimer: NodeJS.Timeout | undefined;
  readonly #offsets: OffsetManager;
  readonly #transactions: TransactionCoordinator;
  /** The masking policies in force (config file and `parapet mask`). */
  readonly #masking: MaskingRegistry;
  readonly #waitingFetches: WaitingFetches;
  #offsetExpiryTimer: NodeJS.Timeout | undefined;
  readonly #keys: OpenedKeyServices;
  /** Worker threads that open large sealed reads, off the event loop. */
  readonly #unsealPool = new UnsealPool();
  /** The audit trail; undefined only when `audit.enabled` is false (insecure, warned about). */
  readonly #audit: BrokerAudit | undefined;
  readonly #events: SecurityEvents;
  readonly #config: BrokerConfig;
  readonly #startCertificateWatch: (() => { close(): void; reload(): boolean }) | undefined;
  #certificateWatch: { close(): void; reload(): boolean } | undefined;
  /** Failed logins across connections (src/security/login-guard); undefined when disabled. */
  readonly #loginGuard: LoginGuard | undefined;
  readonly #metrics: BrokerMetrics | undefined;
  readonly #adminServer: AdminServer | undefined;
  readonly #readinessChecks: ReadinessCheck[] = [];
  readonly #sessions: SessionRegistry;
  /** Disabled principals and the lockdown (incident response). */
  readonly #containment: Containment;
  /** What each principal did and when it logged in; undefined when accessLog.enabled is false. */
  readonly #accessLog: AccessLog | undefined;
  /** Backup captures held (src/backup/capture): at most two, each under a lease. */
  readonly #captures: CaptureRegistry;
  /** The schema registry (src/schemas/); undefined when schemaRegistry.enabled is false. */
  readonly #schemaRegistry: SchemaRegistry | undefined;
  readonly #clock: () => number;
  #listening = false;
  /** What the listener's `auto` connection limits are derived from (read once, at the start). */
  readonly #descriptors: { readonly openFileLimit: number | undefined; readonly maxOpenLogFiles: number; readonly forConnections: number };

  constructor(config: BrokerConfig, logger: Logger, deps: BrokerDeps = {}) {
    const clock = deps.clock ?? Date.now;
    this.#clock = clock;
    this.#logger = logger;
    this.#config = config;
    this.#retentionIntervalMs = config.retentionCheckIntervalMs;
    this.#logFileIdleMs = config.logFileIdleMs;
    const limitsProblem = storageLimitsProblem(config);
    if (limitsProblem !== null) throw new ConfigError(limitsProblem);
    const adminPosture = checkAdminEndpoint(config.adminEndpoint, config.allowInsecureAdminEndpoint);
    if (adminPosture.errors.length > 0) throw new ConfigError(adminPosture.errors.join('\n'));
    // One owner per data directory, taken before anything in it is opened (docs/operations.md).
    this.#lock = deps.lock ?? DataDirLock.acquire(config.dataDir, 'a Parapet broker');
    let store: MetadataStore | undefined;
    try {
      store = new MetadataStore(config.dataDir);
      this.#store = store;
      // Loaded whole from the store now: the record stages ask it synchronously.
      this.#schemaRegistry = config.schemaRegistry.enabled ? new SchemaRegistry({ store: store.schemaRegistry, limits: config.schemaRegistry.limits }) : undefined;
      // A backup capture held when the broker last stopped without closing (a crash) is of no use any more.
      CaptureRegistry.clearLeftovers(config.dataDir, logger);
      const metrics = deps.metrics ?? (config.adminEndpoint.enabled ? new BrokerMetrics() : undefined);
      this.#metrics = metrics;
      // Data access sums are reported through the broker's events (the log, the trail, the metrics).
      const audit = createBrokerAudit(config, { logger, metrics, ...(deps.auditFs === undefined ? {} : { fs: deps.auditFs }) }, (e) => {
        this.#events.emit(e);
      });
      this.#audit = audit;
      const accessLog = config.accessLog.enabled ? new AccessLog({ config: config.accessLog, store: store.accessStore(clock()), logger, ...(deps.clock === undefined ? {} : { clock: deps.clock }) }) : undefined;
      this.#accessLog = accessLog;
      if (metrics !== undefined && accessLog !== undefined) metrics.watchAccessLog(() => accessLog.stats());
      // Every security event goes to the log (or the test's recorder), the audit trail, the metrics and (logins) the access log.
      const events = fanOutSecurityEvents(
        deps.events ?? loggingSecurityEvents(logger),
        ...(audit === undefined ? [] : [audit]),
        ...(metrics === undefined ? [] : [metricsSecurityEvents(metrics)]),
        ...(accessLog === undefined ? [] : [accessLog]),
      );
      this.#events = events;
      for (const w of [...adminPosture.warnings, ...auditWarnings(config.audit)]) events.emit({ type: 'insecure-setting', setting: w.setting, detail: w.detail });
      if (!config.quotas.enabled) events.emit({ type: 'insecure-setting', setting: 'quotas.enabled', detail: 'client quotas are off: one client can take all of the broker’s bandwidth and event-loop time' });
      const quotas = new QuotaManager({ config: config.quotas, store });
      const security = createBrokerSecurity(config, { store, logger, events, ...(metrics === undefined ? {} : { loginGuardMetrics: metrics }) });
      this.#loginGuard = security.listener.loginGuard;
      const guard = this.#loginGuard;
      if (metrics !== undefined && guard !== undefined) metrics.watchLoginGuard(() => guard.stats());
      // Live connections, for `parapet sessions` and for ending the logins of a changed credential.
      const sessions = new SessionRegistry({ events });
      this.#sessions = sessions;
      // Disabled principals and the lockdown, from the store: refused at login and on every request, closed when set.
      const containment = new Containment({ store: store.containment, superUsers: config.security.superUsers, events, closeRefused: (refusal) => sessions.closeRefused(refusal) });
      this.#containment = containment;
      const scramAdmin = security.admin.scram;
      // HTTP Basic logins of the admin endpoint verified lately (the registry's serializers ask often).
      const credentialCache = new VerifiedCredentialCache();
      const admin = {
        ...security.admin,
        scram: {
          ...scramAdmin,
          onChange: (e: Parameters<NonNullable<typeof scramAdmin.onChange>>[0]) => {
            scramAdmin.onChange?.(e);
            // A deleted or changed password ends the logins made with it now, not at their next login.
            const users = new Set([...e.upserted.map((u) => u.user), ...e.deleted.map((d) => d.user)]);
            for (const user of users) {
              sessions.revokeCredentials(user, e.context);
              credentialCache.forget(user);
            }
          },
        },
      };
      const keys = deps.keys ?? openKeyServices(config.encryptionAtRest, config.dataDir, logger);
      this.#keys = keys;
      logger.info({ keys: keys.description }, 'encryption at rest: topics are encrypted unless created with encryption=none');
      // Produce frames and fetch reads come from bounded pools and go back to them once used.
      const frames = new BufferPool({ maxPooledBytes: 32 * 1024 * 1024 });
      const reads = new BufferPool({ maxPooledBytes: 64 * 1024 * 1024 });
      this.#descriptors = descriptorsOf(config.maxOpenLogFiles, logger);
      const admission = admissionPolicyOf(config.listener, this.#descriptors.forConnections);
      logger.info({ ...admission.summary, openFileLimit: this.#descriptors.openFileLimit ?? 'unknown' }, 'listener connection limits and address lists');
      const configLimits = { minSegmentBytes: config.minSegmentBytes, minSegmentMs: config.minSegmentMs, maxMessageBytes: config.maxFrameBytes };
      // The logs read topic configs from here; the topic admin tells it of every change.
      const topicConfigs = new TopicConfigCache(store, configLimits);
      this.#logs = new LogManager({
        dataDir: config.dataDir,
        logger,
        clock,
        allocate: (size) => reads.acquire(size),
        release: (buffer) => {
          reads.release(buffer);
        },
        ...(deps.fs === undefined ? {} : { fs: deps.fs }),
        configs: topicConfigs,
        maxOpenFiles: this.#descriptors.maxOpenLogFiles,
        maxOpenPartitions: config.maxPartitions,
        cleaner: { memoryBytes: config.cleanerMemoryBytes, ioBytesPerSecond: config.cleanerIoBytesPerSecond, intervalMs: config.cleanerIntervalMs },
        // The coordinator is made after the logs (it writes markers into them): asked once it exists.
        transactionGuard: (topic, partition, producerId, producerEpoch) => this.#transactions.guard(topic, partition, producerId, producerEpoch),
        keys: keys.services,
        unsealPool: this.#unsealPool,
        ...(metrics === undefined ? {} : { observer: logObserverOf(metrics) }),
      });
      const topics = new TopicAdmin(this.#store, this.#logs, topicConfigs, {
        defaultPartitions: config.defaultPartitions,
        maxPartitionsPerTopic: config.maxPartitionsPerTopic,
        maxPartitions: config.maxPartitions,
        configLimits,
        nodeId: config.nodeId,
        logger,
        events,
        topicPolicies: config.topicPolicies,
      });
      topics.openLogs();
      // Masking on fetch (docs/governance/masking.md): the config file's policies and the CLI's, the
      // hash rule's key a broker secret of this data directory (so masked values join across restarts).
      const masking = new MaskingRegistry({
        config: config.masking ?? {},
        store: store.masking,
        secret: store.brokerSecret('masking-hash-key', () => randomBytes(32)),
        warn: (message) => {
          logger.warn({ component: 'masking' }, message);
        },
      });
      this.#masking = masking;
      this.#captures = new CaptureRegistry({
        sources: { dataDir: config.dataDir, store, logs: this.#logs },
        logger,
        clock,
        // Released by its holder is audited with who released it (releaseCapture).
        onReleased: (id, reason) => {
          if (reason !== 'released') this.#events.emit({ type: 'backup-capture-released', id, reason });
        },
      });
      if (audit !== undefined && AuditTopicCopy.ensureTopic(topics, config.audit.topicRetentionMs, logger)) audit.copyToTopic(new AuditTopicCopy(this.#logs, logger));
      const producerIds = ProducerIdStore.open(config.dataDir, deps.fs === undefined ? {} : { fs: deps.fs });
      const registry = new GroupRegistry(
        {
          maxGroups: config.groupMaxGroups,
          maxGroupsPerPrincipal: config.groupMaxGroupsPerPrincipal,
          maxMemoryBytesPerPrincipal: config.groupMaxMemoryBytesPerPrincipal,
          maxOffsetBytesPerPrincipal: config.groupMaxOffsetBytesPerPrincipal,
        },
        store.offsetBytesByGroup(),
      );
      this.#groups = new GroupCoordinator(
        {
          initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
          minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
          maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
          maxGroupSize: config.groupMaxSize,
          maxProtocolsPerMember: config.groupMaxProtocolsPerMember,
          maxMemberMetadataBytes: config.groupMaxMemberMetadataBytes,
          maxGroupMetadataBytes: config.groupMaxMetadataBytes,
          pendingMemberTimeoutMs: config.groupPendingMemberTimeoutMs,
        },
        {
          scheduler: deps.scheduler ?? realScheduler,
          logger,
          persistence: store,
          registry,
        },
      );
      this.#offsets = new OffsetManager({
        store: this.#store,
        membership: this.#groups,
        registry,
        topics,
        clock,
        logger,
        maxMetadataLength: config.offsetMetadataMaxBytes,
      });
      const offsets = this.#offsets;
      const transactions = new TransactionCoordinator({
        store: store.transactions,
        ids: producerIds,
        markers: this.#logs,
        logger,
        scheduler: deps.scheduler ?? realScheduler,
        settings: {
          ...DEFAULT_TRANSACTION_SETTINGS,
          maxTimeoutMs: config.transactionMaxTimeoutMs,
          idExpirationMs: config.transactionalIdExpirationMs,
          abortCheckIntervalMs: config.transactionAbortCheckIntervalMs,
          maxTransactionalIds: config.transactionMaxIds,
          maxTransactionalIdsPerPrincipal: config.transactionMaxIdsPerPrincipal,
        },
        ...(metrics === undefined ? {} : { onTimedOut: () => {
          metrics.transactionTimedOut();
        }, }),
        onOffsetsCommitted: (committed, principal) => {
          for (const { groupId } of committed) offsets.transactionCommitted(groupId, principal as Principal);
        },
      });
      this.#transactions = transactions;
      metrics?.watchTransactions(() => transactions.stats());
      this.#waitingFetches = new WaitingFetches(this.#logs, this.#shutdown.signal);
      const budget = new MemoryBudget({ maxRequestBytes: config.maxQueuedRequestBytes, maxResponseBytes: config.maxQueuedResponseBytes });
      const handlers = brokerHandlers({
        identity: { nodeId: config.nodeId, clusterId: config.clusterId },
        autoCreateTopics: config.autoCreateTopics,
        logger,
        logs: this.#logs,
        topics,
        producerIds,
        fetch: {
          logs: this.#logs,
          waiting: this.#waitingFetches,
          maxResponseBytes: config.maxFetchBytes,
          maxWaitMs: config.maxFetchWaitMs,
          responseRoom: () => budget.responseRoom,
        },
        groups: this.#groups,
        offsets: this.#offsets,
        transactions: this.#transactions,
        quotas,
        brokerConfigs: () => brokerConfigEntries(config, this.#listener.admissionPolicy, this.#listener.address, this.#store.lastBackup()),
        ...admin,
      });
      this.#listener = new Listener({
        host: config.listener.host,
        port: config.listener.port,
        limits: {
          maxFrameBytes: config.maxFrameBytes,
          maxInFlightRequests: config.maxInFlightRequestsPerConnection,
          maxQueuedRequestBytes: config.maxQueuedRequestBytesPerConnection,
          maxQueuedResponseBytes: config.maxQueuedResponseBytesPerConnection,
        },
        responseWriteTimeoutMs: config.responseWriteTimeoutMs,
        authenticationTimeoutMs: config.authenticationTimeoutMs,
        connectionsMaxIdleMs: config.connectionsMaxIdleMs,
        connectionsMaxReauthMs: config.connectionsMaxReauthMs,
        expireLegacySessions: config.expireLegacySessions,
        sessions,
        budget,
        handlers,
        security: security.listener,
        protectedTopics: INTERNAL_TOPICS,
        ...(audit === undefined ? {} : { audit: audit.stageDeps(events) }),
        logger,
        framePool: frames,
        responsePool: reads,
        names: { maxGroupIdLength: config.maxGroupIdLength, maxTransactionalIdLength: config.maxTransactionalIdLength, maxClientIdLength: config.maxClientIdLength },
        ...(deps.stages === undefined ? {} : { extraStages: deps.stages }),
        ...(metrics === undefined ? {} : { metrics }),
        admission,
        quotas: {
          quotas,
          topics: { partitionsOf: (name) => topics.get(name)?.partitions, defaultPartitions: config.defaultPartitions, maxPartitionsPerTopic: config.maxPartitionsPerTopic },
          ...(metrics === undefined ? {} : { metrics }),
          reports: new ThrottleReports(events),
        },
        refusal: (principal) => containment.refusal(principal),
        ...(accessLog === undefined ? {} : { access: accessLog }),
        // Validation on produce (docs/governance/validation.md). Without a registry (schemaRegistry.enabled:
        // false) a topic that asks for validation refuses every record rather than accepting them unchecked.
        validation: {
          settings: (topic: string) => topicValidation(topicConfigs.storedConfigs(topic)),
          lookup: this.#schemaRegistry ?? NO_SCHEMAS,
          onRefused: (r: ValidationRefusal) => {
            metrics?.validationRefused(r.reasons);
            deps.onValidationRefused?.(r);
          },
        },
        masking: {
          policies: () => masking.current(),
          ...(this.#schemaRegistry === undefined ? {} : { lookup: this.#schemaRegistry }),
          ...(metrics === undefined ? {} : {
                onMasked: (r) => {
                  metrics.masked(r.masked, r.failedClosed, r.refusedPartitions);
                },
              }),
        },
      });
      const { tlsFiles } = security;
      const listener = this.#listener;
      const tlsServer = listener.tlsServer;
      this.#startCertificateWatch =
        tlsFiles === undefined || tlsServer === undefined
          ? undefined
          : () => watchCertificates(tlsServer, tlsFiles, config.security, logger, (isRevoked) => listener.closeRevokedConnections(isRevoked), events);
      if (audit !== undefined) {
        // /readyz and the audit_writable gauge: an unwritable trail means admin changes and logins are refused.
        this.#readinessChecks.push({ name: 'audit-writable', ready: () => audit.writable || 'the audit trail cannot be written (admin changes and logins are refused)' });
        metrics?.setAuditWritable(() => audit.writable);
      }
      this.#readinessChecks.push(
        ...brokerReadinessChecks({ listening: () => this.#listening, logs: this.#logs, dataDir: config.dataDir, ...(metrics === undefined ? {} : { metrics }) }),
        ...(deps.readinessChecks ?? []),
      );
      // A disabled administrator, or any but a super user in a lockdown, cannot use the endpoint either.
      const verifyPassword = shutOutPasswordVerifier(credentialCache.wrap(passwordVerifier(security.admin.scram.credentials)), containment, events);
      const certificatePrincipal = config.adminEndpoint.tls?.clientAuth === 'required' ? adminCertificatePrincipal(config.security, containment) : undefined;
      const schemaRegistry = this.#schemaRegistry;
      // The endpoint's own checks are decisions of logged-in principals too: recorded as the pipeline's are.
      const endpointAuthorizer = accessLog === undefined ? security.listener.authorizer : recordingAuthorizer(security.listener.authorizer, accessLog);
      if (metrics !== undefined) metrics.watch(brokerScrapeSources({ logs: this.#logs, offsets: store, dataDir: config.dataDir, tlsFiles, adminEndpoint: config.adminEndpoint }));
      this.#adminServer =
        !config.adminEndpoint.enabled || metrics === undefined
          ? undefined
          : new AdminServer({
              config: config.adminEndpoint,
              metrics,
              checks: () => this.#readinessChecks,
              logger,
              ...(deps.adminServerLimits === undefined ? {} : { limits: deps.adminServerLimits }),
              routes: {
                guard: { verifyPassword, authorizer: endpointAuthorizer, events, ...(certificatePrincipal === undefined ? {} : { certificatePrincipal }) },
                ...(schemaRegistry === undefined ? {} : { schemaRegistry: { registry: schemaRegistry } }),
                sessions: { registry: sessions, events },
                containment: { containment, superUsers: config.security.superUsers },
                masking: { registry: this.#masking },
                access: { log: accessLog, superUsers: superUsersOf(config.security), credentialSetTimes: () => credentialSetTimesJson(this.#store) },
                backup: {
                  take: (by) => this.captureForBackup(by),
                  renew: (id) => this.renewCapture(id),
                  release: (id, by, completed) => {
                    this.releaseCapture(id, by, completed);
                  },
                },
              },
            });
    } catch (err) {
      store?.close();
      void this.#unsealPool.close();
      this.#lock.release();
      throw err;
    }
  }

  async start(): Promise<{ host: string; port: number }> {
    // An HSM that cannot be opened stops the start, before any client is let in.
    await this.#keys.ready;
    // The trail is open before the first client: every login is recorded.
    await this.#audit?.open();
    // Transactions a crash left half-ended are ended before any client can read their partitions.
    await this.#transactions.start();
    const address = await this.#listener.start();
    this.#listening = true;
    if (this.#adminServer !== undefined) {
      const admin = await this.#adminServer.start();
      this.#logger.info({ url: this.#adminServer.url, ...admin }, 'admin endpoint listening: /metrics, /healthz, /readyz');
    }
    const { settings, insecure } = settingsInForce(this.#config);
    const connections = this.#listener.admissionPolicy?.summary;
    this.#events.emit({ type: 'broker-started', version: productVersion(), settings: { ...settings, listener: { ...(settings as { listener: object }).listener, port: address.port, ...(connections === undefined ? {} : { connections }) } }, insecure });
    // A lockdown survives restarts: said at every start (the log at warn, the trail) until it is lifted.
    this.#containment.reportAtStart();
    this.#certificateWatch = this.#startCertificateWatch?.();
    this.#accessLog?.start();
    this.#retentionTimer = setInterval(() => {
      this.enforceRetention().catch((err: unknown) => {
        this.#logger.error({ err: String(err) }, 'retention check failed');
      });
    }, this.#retentionIntervalMs);
    this.#retentionTimer.unref();
    this.#logs.startCleaner();
    this.#idleFilesTimer = setInterval(() => {
      this.#logs.closeIdleFiles(this.#logFileIdleMs);
    }, Math.max(1000, Math.min(this.#logFileIdleMs, 30_000)));
    this.#idleFilesTimer.unref();
    // Offsets of groups without members expire (offset retention); first sweep one interval after
    // the start, so that consumers can rejoin after a restart before anything expires.
    this.#offsetExpiryTimer = setInterval(() => {
      const report = this.#offsets.expireOffsets();
      for (const groupId of report.groupsEmptied) this.#groups.offsetsGone(groupId);
      if (report.expired > 0) this.#logger.info({ ...report }, 'expired committed offsets of empty groups');
    }, DEFAULT_OFFSET_RETENTION_CHECK_INTERVAL_MS);
    this.#offsetExpiryTimer.unref();
    return address;
  }

  /**
   * Runs one request frame (size prefix included) through the whole pipeline without a socket, as a
   * connection of `principal` from `host` would: decode, authentication gate, names, authorization, the
   * handler, encode. Resolves to the response frame and whether the connection would close. For tests.
   */
  inject(frame: Buffer, options: InjectOptions = {}): Promise<InjectedResponse> {
    return this.#listener.inject(frame, options);
  }

  /** Reloads the TLS certificate files now (SIGHUP); false when they don't form a valid pair or there is no TLS. */
  reloadCertificates(): boolean {
    return this.#certificateWatch?.reload() ?? false;
  }

  /**
   * Applies the listener's address lists and connection limits that `read` returns (SIGHUP: the config
   * file's `listener` section, read again) without a restart: new connections meet them at once, and
   * open connections from an address now denied are closed (ADDRESS_DENIED). When `read` throws (a file
   * that does not parse or validate) or a block is malformed, nothing changes: the lists in force are
   * kept and the refusal is reported (the log at warn, the audit trail). Absent keys are the defaults,
   * as at a start.
   */
  reloadListenerPolicy(read: () => ListenerAdmissionInput): { ok: boolean; detail: string; closed: number } {
    let result: { ok: boolean; detail: string; closed: number };
    try {
      const policy = admissionPolicyOf({ ...DEFAULT_LISTENER_ADMISSION, ...definedSettings(read()) }, this.#descriptors.forConnections);
      const closed = this.#listener.updateAdmission(policy);
      const { allow, deny, maxConnections, maxConnectionsPerIp } = policy.summary;
      result = { ok: true, detail: `allow [${allow.join(', ')}], deny [${deny.join(', ')}], maxConnections ${maxConnections}, maxConnectionsPerIp ${maxConnectionsPerIp}`, closed };
    } catch (err) {
      result = { ok: false, detail: `${err instanceof Error ? err.message : String(err)} (the lists and limits in force are kept)`, closed: 0 };
    }
    this.#events.emit({ type: 'listener-policy-reloaded', ...result });
    return result;
  }

  /** Whether the audit trail can be written now (false: the broker refuses admin changes and logins, unless failing open). */
  get auditWritable(): boolean {
    return this.#audit?.writable ?? true;
  }

  /** Where the admin endpoint (/metrics, /healthz, /readyz) listens once started; undefined when disabled. */
  get adminAddress(): { host: string; port: number } | undefined {
    return this.#adminServer?.address;
  }

  /** The admin endpoint's URL once started (`http://127.0.0.1:9644`); undefined when disabled. */
  get adminUrl(): string | undefined {
    return this.#adminServer?.url;
  }

  /** The broker's metrics (the audit trail reports its write failures here); undefined when there are none. */
  get metrics(): BrokerMetrics | undefined {
    return this.#metrics;
  }

  /** Adds a condition of /readyz (the audit trail: writable). */
  addReadinessCheck(check: ReadinessCheck): void {
    this.#readinessChecks.push(check);
  }

  /** Disabled principals and the lockdown (`parapet user disable`, `parapet lockdown`). */
  /** The schema registry, for the record stages (src/governance/); undefined when schemaRegistry.enabled is false. */
  get schemaRegistry(): SchemaRegistry | undefined {
    return this.#schemaRegistry;
  }

  get containment(): Containment {
    return this.#containment;
  }

  /** The open connections (what `parapet sessions list` shows). */
  get sessions(): SessionRegistry {
    return this.#sessions;
  }

  /** Fetches waiting for data now (long polls): diagnostics, and what the fetch limit tests watch. */
  get waitingFetchCount(): number {
    return this.#waitingFetches.size;
  }

  /**
   * Takes a backup capture (src/backup/capture/take-capture.ts): a consistent cut of every partition and
   * a copy of the metadata store, staged in `<dataDir>/backup-staging/<id>/` until released or its
   * lease expires. Audited (`backup-capture-taken`): its holder can read every partition. Throws a
   * CaptureError when two are held already or something cannot be captured.
   */
  async captureForBackup(by: CaptureCaller = IN_PROCESS_CALLER): Promise<HeldCapture> {
    const held = await this.#captures.take();
    const { capture } = held;
    const bytes = capture.files.reduce((sum, f) => sum + f.length, 0);
    this.#events.emit({ type: 'backup-capture-taken', principal: by.principal, remote: by.remote, id: capture.id, partitions: capture.partitions.length, files: capture.files.length, bytes, leaseExpiresAtMs: held.leaseExpiresAtMs });
    return held;
  }

  /** Extends a held capture's lease by one lease from now; returns its new end. Throws a CaptureError for an unknown id. */
  renewCapture(id: string): number {
    return this.#captures.renew(id);
  }

  /** Removes a held capture's staging directory (its backup is written). Throws a CaptureError for an unknown id. */
  releaseCapture(id: string, by: CaptureCaller = IN_PROCESS_CALLER, completed?: { target: string }): void {
    const capture = this.#captures.release(id);
    if (completed !== undefined) this.#store.recordBackup({ captureId: id, takenAtMs: capture.takenAtMs, completedAtMs: this.#clock(), target: completed.target });
    this.#events.emit({ type: 'backup-capture-released', id, reason: 'released', principal: by.principal, remote: by.remote });
  }

  /** Releases the captures whose lease has ended now (also checked every minute); returns their ids. */
  expireCaptures(): string[] {
    return this.#captures.sweep();
  }

  /** Cleans the compacted partitions that are due now (also run every cleanerIntervalMs); resolves to how many. */
  cleanCompactedLogs(): Promise<number> {
    return this.#logs.cleanCompactedLogs();
  }

  /** Deletes segments past their topic's retention now (also run every retentionCheckIntervalMs). */
  enforceRetention(): Promise<number> {
    return this.#logs.enforceRetention();
  }

  /**
   * Graceful shutdown: end long polls, stop accepting, answer requests in flight, close connections,
   * then flush and close the logs and the metadata store. `reason` (a signal's name) goes into the audit trail's stop event.
   */
  async close(reason = 'shutdown'): Promise<void> {
    clearInterval(this.#retentionTimer);
    clearInterval(this.#idleFilesTimer);
    clearInterval(this.#offsetExpiryTimer);
    this.#certificateWatch?.close();
    this.#shutdown.abort();
    this.#groups.close();
    this.#transactions.close();
    // Not ready from the first moment of a shutdown: a load balancer stops sending clients here.
    this.#listening = false;
    await this.#listener.close();
    // Its last summary of refused logins goes into the trail before the stop event.
    this.#loginGuard?.close();
    // A backup still reading a capture fails: the files it names go with the broker's lock.
    this.#captures.releaseAll();
    this.#events.emit({ type: 'broker-stopped', reason });
    // Before the logs close: the last events are copied to the __audit topic.
    await this.#audit?.close();
    await this.#adminServer?.close();
    await this.#logs.close();
    await this.#keys.services.provider.close();
    await this.#unsealPool.close();
    // After the listener and the endpoint: nothing is recorded any more, and the last observations are kept.
    this.#accessLog?.close();
    this.#store.close();
    this.#lock.release();
  }
}

/** Who took or released a capture, for the audit trail. */
export interface CaptureCaller {
  readonly principal: Principal;
  readonly remote: string;
}

/** A capture asked for by code in the broker's own process (tests, an embedding program). */
const IN_PROCESS_CALLER: CaptureCaller = { principal: 'User:parapet-broker', remote: 'in-process' };

/** Who the authorizer lets do everything (src/broker/security-setup.ts): the super users, and anonymous clients when allowed in. */
/**
 * The admin endpoint's mTLS callers (`adminEndpoint.tls.clientAuth: required`), mapped as the Kafka
 * listener maps its certificates (tls.principalMapping, tls.principalPrefix); a principal shut out
 * (disabled, or any but a super user in a lockdown) is none, as a wrong password is.
 */
function adminCertificatePrincipal(security: SecurityConfig, containment: Containment): (socket: TLSSocket) => Principal | undefined {
  const rules = compilePrincipalMappingRules(security.tls.principalMapping);
  const prefix = security.tls.principalPrefix ?? '';
  return (socket) => {
    const mapped = mapCertificatePrincipal(socket.getPeerCertificate(), rules);
    if (mapped === undefined) return undefined;
    const principal = prefix === '' ? mapped : userPrincipal(`${prefix}${mapped.slice('User:'.length)}`);
    return containment.refusal(principal) === null ? principal : undefined;
  };
}

function superUsersOf(security: SecurityConfig): string[] {
  return security.allowInsecureAnonymous ? [...security.superUsers, ANONYMOUS] : [...security.superUsers];
}

/** The listener's settings resolved against the process's descriptors; a bad CIDR block is a ConfigError. */
function admissionPolicyOf(settings: ListenerAdmissionSettings, connectionDescriptors: number): AdmissionPolicy {
  try {
    return resolveAdmissionPolicy(settings, connectionDescriptors);
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
}

/** The admission settings of a config file's listener section, absent keys left out. */
function definedSettings(listener: ListenerAdmissionInput): ListenerAdmissionSettings {
  const { maxConnections, maxConnectionsPerIp, maxConnectionsPerIpOverrides, maxConnectionCreationRate, maxConnectionCreationRatePerIp, reservedFor, reservedConnections, allow, deny } = listener;
  const all: ListenerAdmissionSettings = Object.fromEntries(
    Object.entries({ maxConnections, maxConnectionsPerIp, maxConnectionsPerIpOverrides, maxConnectionCreationRate, maxConnectionCreationRatePerIp, reservedFor, reservedConnections, allow, deny }).filter(([, v]) => v !== undefined),
  );
  return all;
}

/** The open-file limit assumed where it cannot be read (no /proc): the most common soft limit. */
const ASSUMED_OPEN_FILE_LIMIT = 1024;

/**
 * How the process's descriptors are shared: segment files (maxOpenLogFiles), the broker's own
 * (OTHER_DESCRIPTORS), and the rest for connections (what `listener.maxConnections: auto` is).
 */
function descriptorsOf(maxOpenLogFilesSetting: number | 'auto', logger: Logger): { openFileLimit: number | undefined; maxOpenLogFiles: number; forConnections: number } {
  const openFileLimit = processOpenFileLimit();
  const maxOpenLogFiles = resolveMaxOpenLogFiles(maxOpenLogFilesSetting, logger);
  return { openFileLimit, maxOpenLogFiles, forConnections: (openFileLimit ?? ASSUMED_OPEN_FILE_LIMIT) - maxOpenLogFiles - OTHER_DESCRIPTORS };
}

/** `auto` derived from the process's open-file limit; a setting close to that limit is warned about (connections need the rest). */
function resolveMaxOpenLogFiles(setting: number | 'auto', logger: Logger): number {
  const soft = processOpenFileLimit();
  const resolved = setting === 'auto' ? derivedMaxOpenLogFiles(soft) : setting;
  logger.info({ maxOpenLogFiles: resolved, openFileLimit: soft ?? 'unknown', setting }, 'open segment files bounded');
  if (soft !== undefined && resolved > soft - OTHER_DESCRIPTORS) {
    logger.warn(
      { maxOpenLogFiles: resolved, openFileLimit: soft },
      `maxOpenLogFiles (${resolved}) leaves no room under the process's open-file limit (ulimit -n = ${soft}) for client connections: ` +
        'the broker will meet EMFILE (requests fail with a retriable error); lower maxOpenLogFiles or raise the limit',
    );
  }
  return resolved;
}
