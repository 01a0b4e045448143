import type { AuditEvent } from '../../audit/audit-event.js';
import { UsageError } from '../admin/common.js';

/** `parapet audit search` filters (docs/security/audit.md, "Reading the trail"). */
export interface EventFilter {
  readonly principal?: string;
  readonly type?: string;
  readonly since?: number;
  readonly until?: number;
  readonly outcome?: 'success' | 'failure';
}

const RELATIVE = /^(\d+)\s*(s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO 8601 time, or a time before `now`: `30s`, `15m`, `2h`, `7d`. */
export function parseTimeSpec(flag: string, value: string, now: number): number {
  const rel = RELATIVE.exec(value.trim());
  if (rel?.[1] !== undefined && rel[2] !== undefined) return now - Number(rel[1]) * (UNIT_MS[rel[2]] ?? 0);
  // Only ISO-looking dates: Date.parse also takes "1" or "May", which would be a mistake here.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value.trim()) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} takes an ISO time (2026-12-07T08:00:00Z) or a time ago (30s, 15m, 2h, 7d), not "${value}"`);
  return ms;
}

export function parseOutcome(value: string | undefined): 'success' | 'failure' | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v !== 'success' && v !== 'failure') throw new UsageError(`--outcome takes success or failure, not "${value}"`);
  return v;
}

function userName(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const name = (v as Record<string, unknown>).name;
  return typeof name === 'string' ? name : undefined;
}

/** The principal an event is about: its actor, else the user it names (an authentication's subject). */
export function principalOf(event: AuditEvent): string | undefined {
  return event.actor?.user?.name ?? userName(event.user);
}

function principalMatches(event: AuditEvent, wanted: string): boolean {
  const names = [event.actor?.user?.name, userName(event.user)];
  // `alice` finds User:alice, as Kafka tools write principals.
  return names.some((n) => n !== undefined && (n === wanted || n === `User:${wanted}`));
}

function typeMatches(event: AuditEvent, wanted: string): boolean {
  const w = wanted.toLowerCase();
  return [event.class_name, String(event.class_uid), event.type_name, String(event.type_uid), event.unmapped.parapet_type].some((v) => v.toLowerCase() === w);
}

export function matches(event: AuditEvent, filter: EventFilter): boolean {
  if (filter.since !== undefined && event.time < filter.since) return false;
  if (filter.until !== undefined && event.time > filter.until) return false;
  if (filter.outcome !== undefined && event.status.toLowerCase() !== filter.outcome) return false;
  if (filter.principal !== undefined && !principalMatches(event, filter.principal)) return false;
  if (filter.type !== undefined && !typeMatches(event, filter.type)) return false;
  return true;
}
