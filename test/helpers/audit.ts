import { join } from 'node:path';
import type { AuditEvent } from '../../src/audit/audit-event.js';
import { listAuditFiles } from '../../src/audit/audit-files.js';
import { readAuditRecords } from '../../src/audit/read.js';

/** Every event of a data directory's audit trail (`<dataDir>/audit`), in order. */
export async function auditEventsOf(dataDir: string): Promise<AuditEvent[]> {
  const files = await listAuditFiles(join(dataDir, 'audit'));
  const events: AuditEvent[] = [];
  for await (const record of readAuditRecords(files)) if (record.event !== undefined) events.push(record.event);
  return events;
}

/** The events of one kind (`unmapped.parapet_type`). */
export function ofType(events: readonly AuditEvent[], type: string): AuditEvent[] {
  return events.filter((e) => e.unmapped.parapet_type === type);
}
