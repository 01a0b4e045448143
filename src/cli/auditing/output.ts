import { basename } from 'node:path';
import type { AuditEvent } from '../../audit/audit-event.js';
import type { AuditVerifyReport } from '../../audit/verify.js';
import { printable } from '../../client/printable.js';
import { principalOf } from './event-filter.js';

/** One event on one line: time, class/activity, status, principal, message. Text from clients is escaped. */
export function eventLine(event: AuditEvent): string {
  const time = Number.isFinite(event.time) ? new Date(event.time).toISOString() : String(event.time);
  const status = event.status_detail === undefined ? event.status : `${event.status}(${event.status_detail})`;
  return printable([time, `${event.class_name}/${event.activity_name}`, status, principalOf(event) ?? '-', event.message].join('  '));
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `parapet audit verify`'s report for a person: what was checked, against which key, then each problem. */
export function verifyText(report: AuditVerifyReport, headUsed: string | undefined): string {
  const out: string[] = [];
  const range = report.firstSeq === undefined || report.lastSeq === undefined ? '' : `, seq ${report.firstSeq} to ${report.lastSeq}`;
  out.push(
    `verified ${plural(report.files.length, 'file')} (${plural(report.lines, 'line')}: ${plural(report.events, 'event')}, ${plural(report.checkpoints, 'checkpoint')}${range}) ` +
      `against the public key with id ${report.keyId}`,
  );
  out.push(headUsed === undefined ? 'signed head: none given (a tail cut after the last checkpoint cannot be detected)' : `signed head: ${headUsed}`);
  if (report.lastCheckpoint !== undefined) out.push(`last checkpoint: seq ${report.lastCheckpoint.seq}, line ${report.lastCheckpoint.line} of ${basename(report.lastCheckpoint.file)}`);
  for (const note of report.notes) out.push(`note: ${note}`);
  if (report.ok) {
    out.push('OK: the audit trail is intact');
  } else {
    const total = report.problems.length + report.moreProblems;
    out.push(`FAILED: ${plural(total, 'problem')}:`);
    for (const p of report.problems) {
      const where = [basename(p.file), p.line === undefined ? undefined : `line ${p.line}`, p.seq === undefined ? undefined : `seq ${p.seq}`].filter((x) => x !== undefined).join(' ');
      out.push(`  [${p.kind}] ${where}: ${p.message}`);
    }
    if (report.moreProblems > 0) out.push(`  … and ${report.moreProblems} more`);
  }
  return `${out.map(printable).join('\n')}\n`;
}
