import { productVersion } from '../version.js';
import { OcsfClasses, type AuditEvent } from './audit-event.js';
import { ACTIVITY, ocsfEvent, SEVERITY } from './ocsf.js';

/**
 * The events the audit trail writes about itself: a repaired tail (a crash cut a line in half) and
 * events it had to drop (its queue was full). OCSF Application Lifecycle, activity Other (99).
 */

function trailEvent(time: number, severity: number, message: string, unmapped: AuditEvent['unmapped']): AuditEvent {
  return ocsfEvent({ time, productVersion: productVersion() }, OcsfClasses.APPLICATION_LIFECYCLE, ACTIVITY.OTHER, false, {
    severity_id: severity,
    message,
    app: { name: 'Parapet audit trail' },
    unmapped,
  });
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
    SEVERITY.MEDIUM,
    `the audit file ${repair.file} ended with an incomplete line (${repair.bytes} bytes at offset ${repair.offset}, a write cut by a crash): the trail continues in a new file`,
    { parapet_type: TAIL_REPAIRED, file: repair.file, offset: repair.offset, bytes: repair.bytes },
  );
}

export function eventsDroppedEvent(time: number, count: number): AuditEvent {
  return trailEvent(time, SEVERITY.HIGH, `${count} audit event(s) were dropped: the audit trail could not keep up or could not write`, {
    parapet_type: EVENTS_DROPPED,
    count,
  });
}
