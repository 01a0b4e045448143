/**
 * Security events as OCSF 1.3 audit events (https://schema.ocsf.io). The class of each:
 *
 *   logins, failed logins, refused connections,     Authentication 3002 (Logon)
 *     logins the login guard refused or blocked
 *   denials, who read or wrote which topic          API Activity 6003 (Create = write, Read, Update, Delete)
 *   topics, partitions, configs, ACLs, groups,      Entity Management 3004 (Create, Update, Delete)
 *     data keys, certificate reloads
 *   SCRAM users; principals disabled and enabled    Account Change 3001 (Password Change, Delete, Disable, Enable)
 *   a lockdown turned on or off, or in force         Entity Management 3004 (Update)
 *   a backup capture taken, released or expired      Entity Management 3004 (Create, Delete)
 *   start and stop, with the settings in force      Application Lifecycle 6002 (Start, Stop)
 *   an insecure setting in force                    Compliance Finding 2003 (Create)
 *
 * Secrets never get here: security events carry none (src/security/events.ts).
 */
import type { SecurityEvent } from '../security/events.js';
import { OCSF_VERSION, OcsfCategories, OcsfClasses, OcsfStatus, type AuditEvent, type OcsfEndpoint } from './audit-event.js';

type OcsfClass = (typeof OcsfClasses)[keyof typeof OcsfClasses];

export const SEVERITY = { INFORMATIONAL: 1, MEDIUM: 3, HIGH: 4 } as const;
const SEVERITY_NAMES: Readonly<Record<number, string>> = { 1: 'Informational', 3: 'Medium', 4: 'High' };

export const ACTIVITY = {
  LOGON: [1, 'Logon'],
  CREATE: [1, 'Create'],
  READ: [2, 'Read'],
  UPDATE: [3, 'Update'],
  DELETE: [4, 'Delete'],
  OTHER: [99, 'Other'],
  PASSWORD_CHANGE: [3, 'Password Change'],
  ACCOUNT_DELETE: [6, 'Delete'],
  ENABLE: [2, 'Enable'],
  DISABLE: [5, 'Disable'],
  START: [3, 'Start'],
  STOP: [4, 'Stop'],
} as const;
type Activity = (typeof ACTIVITY)[keyof typeof ACTIVITY];

export interface Common {
  readonly time: number;
  readonly productVersion: string;
}

/** The audit events one security event makes (an SCRAM change of several users makes one per user). */
export function toAuditEvents(event: SecurityEvent, common: Common): AuditEvent[] {
  switch (event.type) {
    case 'authentication-succeeded':
    case 'authentication-failed': {
      const ok = event.type === 'authentication-succeeded';
      const user = ok ? event.principal : event.claimedUser === undefined ? undefined : `User:${event.claimedUser}`;
      return [
        ocsfEvent(common, OcsfClasses.AUTHENTICATION, ACTIVITY.LOGON, ok, {
          message: ok ? `${event.principal} logged in with ${event.mechanism}` : `a login with ${event.mechanism} failed: ${event.reason}${event.detail === undefined ? '' : ` (${event.detail})`}`,
          ...(ok ? {} : { status_detail: event.reason }),
          ...(user === undefined ? {} : { user: { name: user }, actor: { user: { name: user }, ...appName(event.client) } }),
          ...(user === undefined && event.client !== undefined ? { actor: appName(event.client) } : {}),
          auth_protocol: event.mechanism,
          auth_protocol_id: 99,
          src_endpoint: endpoint(event.remote),
          ...(event.tls === undefined ? {} : { tls: { version: event.tls.version, cipher: event.tls.cipher } }),
          unmapped: { parapet_type: event.type, connection: event.connection },
        }),
      ];
    }
    case 'connection-refused':
      return [
        ocsfEvent(common, OcsfClasses.AUTHENTICATION, ACTIVITY.LOGON, false, {
          message: `a connection was refused: ${event.reason}${event.detail === undefined ? '' : ` (${event.detail})`}`,
          status_detail: event.reason,
          src_endpoint: endpoint(event.remote),
          ...(event.repeated === undefined ? {} : { count: 1 + event.repeated }),
          unmapped: { parapet_type: event.type, ...(event.connection === undefined ? {} : { connection: event.connection }), ...(event.detail === undefined ? {} : { detail: event.detail }) },
        }),
      ];
    case 'login-refused': {
      const user = event.claimedUser === undefined ? undefined : `User:${event.claimedUser}`;
      return [
        ocsfEvent(common, OcsfClasses.AUTHENTICATION, ACTIVITY.LOGON, false, {
          message: `${event.count} login(s) with ${event.mechanism} from ${event.source} refused unverified: ${event.reason}`,
          status_detail: 'LOGIN_BLOCKED',
          ...(user === undefined ? {} : { user: { name: user } }),
          auth_protocol: event.mechanism,
          auth_protocol_id: 99,
          src_endpoint: event.remote === '*' ? { ip: '*' } : endpoint(event.remote),
          count: event.count,
          unmapped: { parapet_type: event.type, reason: event.reason, source: event.source, ...(event.connection === undefined ? {} : { connection: event.connection }) },
        }),
      ];
    }
    case 'login-guard-engaged': {
      const user = event.claimedUser === undefined ? undefined : `User:${event.claimedUser}`;
      const what = event.scope === 'source' ? `source ${event.source} blocked` : `${user ?? 'a user'} guarded (logins verified only from trusted or clean sources)`;
      return [
        ocsfEvent(common, OcsfClasses.AUTHENTICATION, ACTIVITY.LOGON, false, {
          severity_id: SEVERITY.HIGH,
          message: `${what} after ${event.failures} failed logins, until ${new Date(event.until).toISOString()}`,
          status_detail: event.scope === 'source' ? 'SOURCE_BLOCKED' : 'USER_GUARDED',
          ...(user === undefined ? {} : { user: { name: user } }),
          auth_protocol: event.mechanism,
          auth_protocol_id: 99,
          src_endpoint: endpoint(event.remote),
          unmapped: { parapet_type: event.type, scope: event.scope, source: event.source, failures: event.failures, until: event.until },
        }),
      ];
    }
    case 'authorization-denied': {
      const resources = event.resources.map(parseDenied);
      return [
        ocsfEvent(common, OcsfClasses.API_ACTIVITY, activityOfOperation(resources[0]?.operation), false, {
          message: `${event.principal} was denied ${event.api}: ${event.resources.join(', ')}`,
          status_detail: 'AUTHORIZATION_FAILED',
          actor: { user: { name: event.principal } },
          api: { operation: event.api, service: { name: 'kafka' } },
          resources: resources.map(({ type, name }) => ({ type, name })),
          src_endpoint: endpoint(event.remote),
          count: 1 + (event.repeated ?? 0),
          unmapped: { parapet_type: event.type, connection: event.connection, denied: event.resources },
        }),
      ];
    }
    case 'admin-change':
      return adminChange(event, common);
    case 'insecure-setting':
      return [
        ocsfEvent(common, OcsfClasses.COMPLIANCE_FINDING, ACTIVITY.CREATE, true, {
          severity_id: SEVERITY.HIGH,
          message: `insecure setting in force: ${event.setting}`,
          finding_info: { title: event.setting, desc: event.detail, uid: event.setting },
          compliance: { status: 'Fail', control: 'secure configuration' },
          unmapped: { parapet_type: event.type },
        }),
      ];
    case 'broker-started':
      return [
        ocsfEvent(common, OcsfClasses.APPLICATION_LIFECYCLE, ACTIVITY.START, true, {
          ...(event.insecure.length > 0 ? { severity_id: SEVERITY.HIGH } : {}),
          message: event.insecure.length === 0 ? 'the broker started' : `the broker started with ${event.insecure.length} insecure setting(s): ${event.insecure.join('; ')}`,
          app: { name: 'Parapet', vendor_name: 'Parapet', version: event.version },
          unmapped: { parapet_type: event.type, settings: event.settings, insecure: event.insecure },
        }),
      ];
    case 'broker-stopped':
      return [
        ocsfEvent(common, OcsfClasses.APPLICATION_LIFECYCLE, ACTIVITY.STOP, true, {
          message: `the broker stopped (${event.reason})`,
          app: { name: 'Parapet', vendor_name: 'Parapet', version: common.productVersion },
          unmapped: { parapet_type: event.type, reason: event.reason },
        }),
      ];
    case 'data-access':
      return [
        ocsfEvent(common, OcsfClasses.API_ACTIVITY, event.operation === 'write' ? ACTIVITY.CREATE : ACTIVITY.READ, true, {
          message: `${event.principal} ${event.operation === 'write' ? 'wrote to' : 'read from'} ${event.topic}: ${event.requests} request(s), ${event.bytes} bytes`,
          actor: { user: { name: event.principal } },
          api: { operation: event.operation === 'write' ? 'Produce' : 'Fetch', service: { name: 'kafka' } },
          resources: [{ type: 'topic', name: event.topic }],
          count: event.requests,
          start_time: event.from,
          end_time: event.to,
          unmapped: { parapet_type: event.type, bytes: event.bytes },
        }),
      ];
    case 'admin-request': {
      const ok = event.status < 400;
      return [
        ocsfEvent(common, OcsfClasses.API_ACTIVITY, event.method === 'GET' ? ACTIVITY.READ : ACTIVITY.UPDATE, ok, {
          message: `${event.principal ?? 'an unauthenticated client'}: ${event.method} ${event.path} → ${event.status}${event.detail === undefined ? '' : ` (${event.detail})`}`,
          ...(event.principal === undefined ? {} : { actor: { user: { name: event.principal } } }),
          api: { operation: `${event.method} ${event.path}`, service: { name: 'parapet-admin-endpoint' } },
          src_endpoint: endpoint(event.remote),
          ...(ok ? {} : { status_detail: `HTTP ${event.status}` }),
          unmapped: { parapet_type: event.type, status: event.status, ...(event.detail === undefined ? {} : { detail: event.detail }) },
        }),
      ];
    }
    case 'quota-throttled':
      // Served, then slowed down: a success of the API, with the throttle as its detail.
      return [
        ocsfEvent(common, OcsfClasses.API_ACTIVITY, ACTIVITY.OTHER, true, {
          message: `${event.principal} (client id ${event.clientId}) was throttled ${event.throttleMs} ms on ${event.api} by its ${event.quota} quota${event.repeated === undefined ? '' : `, and ${event.repeated} time(s) more since the last report (longest ${event.maxRepeatedMs ?? 0} ms)`}`,
          status_detail: 'THROTTLED',
          actor: { user: { name: event.principal }, app_name: event.clientId },
          api: { operation: event.api, service: { name: 'kafka' } },
          src_endpoint: endpoint(event.remote),
          count: 1 + (event.repeated ?? 0),
          unmapped: { parapet_type: event.type, connection: event.connection, quota: event.quota, throttle_ms: event.throttleMs },
        }),
      ];
    case 'certificate-reloaded':
      return [
        ocsfEvent(common, OcsfClasses.ENTITY_MANAGEMENT, ACTIVITY.UPDATE, event.ok, {
          message: event.ok ? `the TLS certificate was reloaded: ${event.detail}` : `a TLS certificate reload failed: ${event.detail}`,
          entity: { type: 'certificate', name: 'listener certificate' },
          ...(event.ok ? {} : { status_detail: event.detail }),
          unmapped: { parapet_type: event.type, detail: event.detail },
        }),
      ];
    case 'listener-policy-reloaded':
      return [
        ocsfEvent(common, OcsfClasses.ENTITY_MANAGEMENT, ACTIVITY.UPDATE, event.ok, {
          message: event.ok ? `the listener's address lists and connection limits were reloaded: ${event.detail}` : `a reload of the listener's address lists and connection limits was refused: ${event.detail}`,
          entity: { type: 'listener policy', name: 'listener' },
          ...(event.ok ? {} : { status_detail: event.detail }),
          unmapped: { parapet_type: event.type, detail: event.detail, closed: event.closed },
        }),
      ];
    case 'principal-disabled':
    case 'principal-enabled': {
      const disabled = event.type === 'principal-disabled';
      return [
        ocsfEvent(common, OcsfClasses.ACCOUNT_CHANGE, disabled ? ACTIVITY.DISABLE : ACTIVITY.ENABLE, true, {
          ...(disabled ? { severity_id: SEVERITY.HIGH } : {}),
          message: disabled
            ? `${event.principal} disabled ${event.target} (${event.reason}); ${event.closed} live connection(s) closed`
            : `${event.principal} enabled ${event.target}, disabled since ${new Date(event.disabledSince).toISOString()}`,
          user: { name: event.target },
          actor: { user: { name: event.principal } },
          src_endpoint: endpoint(event.remote),
          unmapped: { parapet_type: event.type, ...(disabled ? { reason: event.reason, closed: event.closed } : { disabled_since: event.disabledSince }) },
        }),
      ];
    }
    case 'lockdown-on':
    case 'lockdown-off':
      return [
        ocsfEvent(common, OcsfClasses.ENTITY_MANAGEMENT, ACTIVITY.UPDATE, true, {
          severity_id: SEVERITY.HIGH,
          message:
            event.type === 'lockdown-on'
              ? `${event.principal} put the broker in lockdown (${event.reason}): only super users may connect; ${event.closed} live connection(s) closed`
              : `${event.principal} lifted the lockdown in force since ${new Date(event.since).toISOString()}`,
          entity: { type: 'broker', name: 'lockdown' },
          actor: { user: { name: event.principal } },
          src_endpoint: endpoint(event.remote),
          unmapped: { parapet_type: event.type, ...(event.type === 'lockdown-on' ? { reason: event.reason, closed: event.closed } : { since: event.since }) },
        }),
      ];
    case 'backup-capture-taken':
      return [
        ocsfEvent(common, OcsfClasses.ENTITY_MANAGEMENT, ACTIVITY.CREATE, true, {
          message: `${event.principal} took backup capture ${event.id}: ${event.partitions} partition(s), ${event.files} file(s), ${event.bytes} bytes, held until ${new Date(event.leaseExpiresAtMs).toISOString()}`,
          entity: { type: 'backup-capture', name: event.id },
          actor: { user: { name: event.principal } },
          src_endpoint: endpoint(event.remote),
          unmapped: { parapet_type: event.type, partitions: event.partitions, files: event.files, bytes: event.bytes, lease_expires_at: event.leaseExpiresAtMs },
        }),
      ];
    case 'backup-capture-released':
      return [
        ocsfEvent(common, OcsfClasses.ENTITY_MANAGEMENT, ACTIVITY.DELETE, true, {
          message:
            event.reason === 'released'
              ? `${event.principal ?? 'its holder'} released backup capture ${event.id}`
              : event.reason === 'expired'
                ? `backup capture ${event.id} was released: its lease expired`
                : `backup capture ${event.id} was released: the broker stopped`,
          entity: { type: 'backup-capture', name: event.id },
          ...(event.principal === undefined ? {} : { actor: { user: { name: event.principal } } }),
          ...(event.remote === undefined ? {} : { src_endpoint: endpoint(event.remote) }),
          unmapped: { parapet_type: event.type, reason: event.reason },
        }),
      ];
    case 'lockdown-in-force':
      return [
        ocsfEvent(common, OcsfClasses.ENTITY_MANAGEMENT, ACTIVITY.UPDATE, true, {
          severity_id: SEVERITY.HIGH,
          message: `the broker started in lockdown, in force since ${new Date(event.since).toISOString()} (by ${event.by}: ${event.reason}): only super users may connect`,
          entity: { type: 'broker', name: 'lockdown' },
          unmapped: { parapet_type: event.type, since: event.since, by: event.by, reason: event.reason },
        }),
      ];
  }
}

/** Admin changes: SCRAM users are accounts (one event per user), everything else an entity. */
function adminChange(event: Extract<SecurityEvent, { type: 'admin-change' }>, common: Common): AuditEvent[] {
  const ok = event.error === undefined;
  const actor = { user: { name: event.principal } };
  const src = endpoint(event.remote);
  const failure = ok ? {} : { status_detail: event.error };
  const unmapped = { parapet_type: event.type, action: event.action, detail: event.detail };
  if (event.action === 'alter-user-scram-credentials') {
    // The shape ScramCredentialChangeEvent carries (broker/handlers/scram-credentials.ts): `user`, not `name`.
    const detail = event.detail as { upserted?: readonly { user: string; mechanism?: string }[]; deleted?: readonly { user: string; mechanism?: string }[] };
    const changes = [...(detail.upserted ?? []).map((u) => ({ ...u, deleted: false })), ...(detail.deleted ?? []).map((u) => ({ ...u, deleted: true }))];
    return changes.map((change) =>
      ocsfEvent(common, OcsfClasses.ACCOUNT_CHANGE, change.deleted ? ACTIVITY.ACCOUNT_DELETE : ACTIVITY.PASSWORD_CHANGE, ok, {
        message: `${event.principal} ${change.deleted ? 'deleted' : 'set'} the ${change.mechanism ?? 'SCRAM'} credential of User:${change.user}`,
        user: { name: `User:${change.user}` },
        actor,
        src_endpoint: src,
        ...failure,
        unmapped,
      }),
    );
  }
  const activity = activityOfAction(event.action);
  const entity = event.resource ?? { type: entityTypeOf(event.action), name: '' };
  const what = entity.name === '' ? entity.type : `${entity.type} ${entity.name}`;
  return [
    ocsfEvent(common, OcsfClasses.ENTITY_MANAGEMENT, activity, ok, {
      message: ok ? `${event.principal}: ${event.action} ${what}` : `${event.principal}: ${event.action} ${what} refused (${event.error})`,
      entity,
      actor,
      src_endpoint: src,
      ...failure,
      unmapped,
    }),
  ];
}

function activityOfAction(action: string): Activity {
  if (action.startsWith('create') || action.startsWith('add')) return ACTIVITY.CREATE;
  if (action.startsWith('delete') || action.startsWith('destroy')) return ACTIVITY.DELETE;
  return ACTIVITY.UPDATE;
}

function entityTypeOf(action: string): string {
  if (action.endsWith('acls')) return 'acl';
  if (action.endsWith('topics') || action.endsWith('partitions')) return 'topic';
  if (action.endsWith('configs')) return 'config';
  if (action.endsWith('groups')) return 'group';
  if (action.endsWith('quotas')) return 'client-quota';
  return 'broker';
}

/** A denial's resource as the authorization stage names it: `WRITE TOPIC:orders`. */
function parseDenied(text: string): { operation: string; type: string; name: string } {
  const space = text.indexOf(' ');
  const colon = text.indexOf(':', space + 1);
  if (space < 0 || colon < 0) return { operation: '', type: 'unknown', name: text };
  return { operation: text.slice(0, space), type: text.slice(space + 1, colon).toLowerCase(), name: text.slice(colon + 1) };
}

function activityOfOperation(operation: string | undefined): Activity {
  switch (operation) {
    case 'READ':
    case 'DESCRIBE':
    case 'DESCRIBE_CONFIGS':
      return ACTIVITY.READ;
    case 'WRITE':
    case 'CREATE':
      return ACTIVITY.CREATE;
    case 'ALTER':
    case 'ALTER_CONFIGS':
      return ACTIVITY.UPDATE;
    case 'DELETE':
      return ACTIVITY.DELETE;
    default:
      return ACTIVITY.OTHER;
  }
}

function appName(client: { name: string; version: string } | undefined): { app_name?: string } {
  return client === undefined ? {} : { app_name: client.version === '' ? client.name : `${client.name} ${client.version}` };
}

/** `1.2.3.4:5678`, `[::1]:5678`, `::1:5678` or Kafka's `/1.2.3.4` as an OCSF endpoint. */
export function endpoint(remote: string): OcsfEndpoint {
  const host = remote.startsWith('/') ? remote.slice(1) : remote;
  const colon = host.lastIndexOf(':');
  const port = colon < 0 ? NaN : Number(host.slice(colon + 1));
  if (!Number.isInteger(port)) return { ip: host.replace(/^\[|\]$/g, '') };
  const ip = host.slice(0, colon).replace(/^\[|\]$/g, '');
  return port === 0 ? { ip } : { ip, port };
}

/** An OCSF event with its base fields filled: the class, the activity, the outcome and the product. */
export function ocsfEvent(
  common: Common,
  klass: OcsfClass,
  [activityId, activityName]: Activity,
  ok: boolean,
  fields: { message: string; severity_id?: number; unmapped: AuditEvent['unmapped']; [field: string]: unknown },
): AuditEvent {
  const severity = fields.severity_id ?? (ok ? SEVERITY.INFORMATIONAL : SEVERITY.MEDIUM);
  return {
    class_uid: klass.uid,
    class_name: klass.name,
    category_uid: klass.category,
    category_name: OcsfCategories[klass.category] ?? 'Other',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: klass.uid * 100 + activityId,
    type_name: `${klass.name}: ${activityName}`,
    time: common.time,
    status_id: ok ? OcsfStatus.SUCCESS : OcsfStatus.FAILURE,
    status: ok ? 'Success' : 'Failure',
    metadata: { version: OCSF_VERSION, product: { name: 'Parapet', vendor_name: 'Parapet', version: common.productVersion }, log_name: 'audit' },
    ...fields,
    severity_id: severity,
    severity: SEVERITY_NAMES[severity] ?? 'Unknown',
  };
}
