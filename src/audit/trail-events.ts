import { readFileSync } from 'node:fs';
import { OCSF_VERSION, OcsfCategories, OcsfClasses, OcsfStatus, type AuditEvent } from './audit-event.js';

/**
 * The events the audit trail writes about itself: a repaired tail (a crash cut a line in half) and
 * events it had to drop (its queue was full). OCSF Application Lifecycle, activity Other (99).
 */

let version: string | undefined;

/** Parapet's version, from package.json (dist/src/audit/ → the package root, three levels up). */
export function productVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

function trailEvent(time: number, severity: { id: number; name: string }, message: string, unmapped: AuditEvent['unmapped']): AuditEvent {
  const cls = OcsfClasses.APPLICATION_LIFECYCLE;
  return {
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category,
    category_name: OcsfCategories[cls.category] ?? 'Application Activity',
    activity_id: 99,
    activity_name: 'Other',
    type_uid: cls.uid * 100 + 99,
    type_name: `${cls.name}: Other`,
    time,
    severity_id: severity.id,
    severity: severity.name,
    status_id: OcsfStatus.FAILURE,
    status: 'Failure',
    message,
    metadata: { version: OCSF_VERSION, product: { name: 'Parapet', vendor_name: 'Parapet', version: productVersion() }, log_name: 'audit' },
    app: { name: 'Parapet audit trail' },
    unmapped,
  };
}

/** Where a crash left an incomplete line, which the trail skipped by starting a new file. */
export interface TailRepair {
  /** The file's name (not its path). */
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
}

export const TAIL_REPAIRED = 'audit-tail-repaired';
export const EVENTS_DROPPED = 'audit-events-dropped';

export function tailRepairedEvent(time: number, repair: TailRepair): AuditEvent {
  return trailEvent(
    time,
    { id: 3, name: 'Medium' },
    `the audit file ${repair.file} ended with an incomplete line (${repair.bytes} bytes at offset ${repair.offset}, a write cut by a crash): the trail continues in a new file`,
    { parapet_type: TAIL_REPAIRED, file: repair.file, offset: repair.offset, bytes: repair.bytes },
  );
}

export function eventsDroppedEvent(time: number, count: number): AuditEvent {
  return trailEvent(time, { id: 4, name: 'High' }, `${count} audit event(s) were dropped: the audit trail could not keep up or could not write`, {
    parapet_type: EVENTS_DROPPED,
    count,
  });
}
