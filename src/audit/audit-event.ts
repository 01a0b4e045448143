/**
 * The shape of one audit event: an OCSF 1.3 event (https://schema.ocsf.io), the fields Parapet fills.
 * src/audit/ocsf.ts makes them from security events; the audit file (one per line, hash-chained) and the
 * `__audit` topic carry them; `parapet audit tail|search` reads them. No field ever holds a secret.
 */
export const OCSF_VERSION = '1.3.0';

/** The OCSF classes Parapet writes, with their category. */
export const OcsfClasses = {
  COMPLIANCE_FINDING: { uid: 2003, name: 'Compliance Finding', category: 2 },
  ACCOUNT_CHANGE: { uid: 3001, name: 'Account Change', category: 3 },
  AUTHENTICATION: { uid: 3002, name: 'Authentication', category: 3 },
  ENTITY_MANAGEMENT: { uid: 3004, name: 'Entity Management', category: 3 },
  APPLICATION_LIFECYCLE: { uid: 6002, name: 'Application Lifecycle', category: 6 },
  API_ACTIVITY: { uid: 6003, name: 'API Activity', category: 6 },
} as const;

export const OcsfCategories: Readonly<Record<number, string>> = { 2: 'Findings', 3: 'Identity & Access Management', 6: 'Application Activity' };

export const OcsfStatus = { SUCCESS: 1, FAILURE: 2 } as const;

export interface OcsfUser {
  /** The Kafka principal, `User:alice`. */
  readonly name: string;
}

export interface OcsfEndpoint {
  readonly ip?: string;
  readonly port?: number;
}

export interface AuditEvent {
  readonly class_uid: number;
  readonly class_name: string;
  readonly category_uid: number;
  readonly category_name: string;
  readonly activity_id: number;
  readonly activity_name: string;
  /** class_uid * 100 + activity_id. */
  readonly type_uid: number;
  readonly type_name: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** 1 informational, 3 medium (failures, denials), 4 high (an insecure setting in force). */
  readonly severity_id: number;
  readonly severity: string;
  readonly status_id: number;
  readonly status: 'Success' | 'Failure';
  /** Why it failed, a Kafka error name or a close reason. */
  readonly status_detail?: string;
  readonly message: string;
  readonly metadata: {
    readonly version: typeof OCSF_VERSION;
    readonly product: { readonly name: 'Parapet'; readonly vendor_name: 'Parapet'; readonly version: string };
    readonly log_name: 'audit';
  };
  readonly actor?: { readonly user?: OcsfUser; readonly app_name?: string };
  readonly src_endpoint?: OcsfEndpoint;
  /** Aggregated events (data access per interval): how many requests, between start_time and end_time. */
  readonly count?: number;
  readonly start_time?: number;
  readonly end_time?: number;
  /** Everything class-specific (user, entity, api, resources, tls, app, auth_protocol…). */
  readonly [field: string]: unknown;
  /** Parapet's own fields; `parapet_type` is the security event it came from (authentication-failed…). */
  readonly unmapped: { readonly parapet_type: string; readonly [field: string]: unknown };
}
