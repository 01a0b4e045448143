import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { formatBrokerAddress } from '../../client/client-config.js';
import { ClientError } from '../../client/errors.js';
import { MATCH_ALL_ACLS } from '../../client/admin.js';
import { reviewAccess, type Review } from '../../security/least-privilege/review.js';
import type { Binding } from '../../security/least-privilege/grants.js';
import { action, integer, loadConfig, withAdmin, withConnectionOptions, type AdminIo } from '../admin/common.js';
import { formatTable } from '../admin/table.js';
import { target } from '../admin/session-commands.js';
import { bindingJson, fetchAccess, fetchLogins, isoOrNever, withEndpointFlags, type EndpointFlags } from './access-source.js';

interface ReviewFlags extends EndpointFlags {
  readonly unusedDays: number;
  readonly format: 'text' | 'csv' | 'json';
}

/** Who, when, where: what makes the report one a reviewer can sign off. */
interface ReportHeader {
  readonly generatedAt: string;
  readonly runBy: string;
  readonly broker: string;
  readonly adminEndpoint: string;
  readonly unusedDays: number;
  readonly unusedSince: string;
  readonly recordingSince: string;
  readonly dropped: number;
}

/**
 * `parapet access review [--unused-days 30] [--format text|csv|json]`: the ACL bindings and SCRAM users
 * over the Kafka protocol, the observed access and logins from the admin endpoint, and the findings of
 * src/security/least-privilege/review.ts as a report (docs/security/least-privilege.md#access-review).
 */
export function registerAccessCommands(access: Command, io: AdminIo): void {
  withEndpointFlags(withConnectionOptions(access.command('review').description('grants unused for N days, principals never seen, super users, wildcard grants: a report to sign off')))
    .option('--unused-days <days>', 'a grant or principal not seen in this many days is reported', integer('--unused-days', 1, 3650), 30)
    .addOption(new Option('--format <format>', 'text, csv or json').choices(['text', 'csv', 'json']).default('text'))
    .action(
      action(io, async (flags: ReviewFlags) => {
        const config = loadConfig(flags);
        const [access, logins] = [await fetchAccess(flags, null, 0), await fetchLogins(flags)];
        const { bindings, scramUsers } = await withAdmin(io, config, async (admin) => ({
          bindings: await admin.describeAcls(MATCH_ALL_ACLS),
          scramUsers: (await admin.describeScramUsers(null)).map((u) => u.user),
        }));
        const nowMs = Date.now();
        const review = reviewAccess({ bindings, scramUsers, observed: access.entries, logins: logins.logins, superUsers: logins.superUsers, nowMs, unusedDays: flags.unusedDays });
        const header: ReportHeader = {
          generatedAt: new Date(nowMs).toISOString(),
          runBy: `${config.sasl === undefined ? 'a client without SASL' : `User:${config.sasl.username}`}${flags.bearerTokenFile === undefined ? '' : ' (admin endpoint: its bearer token)'}, as OS user ${osUser()}`,
          broker: config.bootstrapServers.map(formatBrokerAddress).join(','),
          adminEndpoint: target(flags).url.origin,
          unusedDays: flags.unusedDays,
          unusedSince: new Date(review.unusedSinceMs).toISOString(),
          recordingSince: new Date(access.recordingSinceMs).toISOString(),
          dropped: access.dropped,
        };
        if (flags.format === 'json') io.stdout(`${JSON.stringify(reviewJson(header, review), null, 2)}\n`);
        else if (flags.format === 'csv') io.stdout(reviewCsv(header, review));
        else io.stdout(reviewText(header, review));
      }),
    );
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    throw new ClientError('cannot tell which OS user runs this (no passwd entry): the report must say who ran it');
  }
}

function summary(r: Review) {
  return { unusedGrants: r.unusedGrants.length, inactivePrincipals: r.inactivePrincipals.length, superUsers: r.superUsers.length, wildcardGrants: r.wildcardGrants.length };
}

function bindingCells(b: Binding): string[] {
  const j = bindingJson(b);
  return [j.principal ?? '', j.permission ?? '', j.operation ?? '', j.resourceType ?? '', j.resourceName ?? '', j.patternType ?? '', j.host ?? ''];
}

const BINDING_HEADERS = ['PRINCIPAL', 'PERMISSION', 'OPERATION', 'RESOURCE', 'NAME', 'PATTERN', 'HOST'];

function section(title: string, headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${title}\n${rows.length === 0 ? '  none\n' : formatTable(headers, rows).replace(/^(?=.)/gm, '  ')}\n`;
}

export function reviewText(h: ReportHeader, r: Review): string {
  const s = summary(r);
  return [
    'Parapet access review\n',
    `  generated:    ${h.generatedAt}\n`,
    `  run by:       ${h.runBy}\n`,
    `  broker:       ${h.broker} (admin endpoint ${h.adminEndpoint})\n`,
    `  unused:       no observed access or login in ${h.unusedDays} day(s), since ${h.unusedSince}\n`,
    `  access log:   records since ${h.recordingSince}; ${h.dropped} observation(s) dropped to stay within its bounds\n`,
    `\nSummary: ${s.unusedGrants} unused grant(s), ${s.inactivePrincipals} principal(s) not seen logging in, ${s.superUsers} super user(s), ${s.wildcardGrants} wildcard grant(s)\n\n`,
    section(`1. Grants that matched no observed access in ${h.unusedDays} day(s)`, [...BINDING_HEADERS, 'LAST-USED'], r.unusedGrants.map((g) => [...bindingCells(g.binding), isoOrNever(g.lastUsedMs)])),
    section(`2. Principals named in ACLs or with SCRAM credentials, not seen logging in for ${h.unusedDays} day(s)`, ['PRINCIPAL', 'NAMED-IN', 'LAST-LOGIN'], r.inactivePrincipals.map((p) => [p.principal, p.namedIn.join('+'), isoOrNever(p.lastLoginMs)])),
    section('3. Super users (allowed everything, whatever the ACLs say)', ['PRINCIPAL', 'LAST-LOGIN'], r.superUsers.map((u) => [u.principal, isoOrNever(u.lastLoginMs)])),
    section('4. Wildcard grants (User:*, resource name *, operation ALL)', [...BINDING_HEADERS, 'WILDCARDS'], r.wildcardGrants.map((g) => [...bindingCells(g.binding), g.wildcards.join(', ')])),
    h.recordingSince > h.unusedSince ? `Note: the access log has recorded only since ${h.recordingSince}: "unused" covers that time, not the whole ${h.unusedDays} day(s).\n\n` : '',
    'Reviewed by: ______________________   Date: ____________   Signature: ______________________\n',
  ].join('');
}

function reviewJson(h: ReportHeader, r: Review): object {
  return {
    report: h,
    summary: summary(r),
    unusedGrants: r.unusedGrants.map((g) => ({ ...bindingJson(g.binding), lastUsed: g.lastUsedMs === null ? null : new Date(g.lastUsedMs).toISOString() })),
    inactivePrincipals: r.inactivePrincipals.map((p) => ({ principal: p.principal, namedIn: p.namedIn, lastLogin: p.lastLoginMs === null ? null : new Date(p.lastLoginMs).toISOString() })),
    superUsers: r.superUsers.map((u) => ({ principal: u.principal, lastLogin: u.lastLoginMs === null ? null : new Date(u.lastLoginMs).toISOString() })),
    wildcardGrants: r.wildcardGrants.map((g) => ({ ...bindingJson(g.binding), wildcards: g.wildcards })),
  };
}

/**
 * One field of RFC 4180 CSV. A field a spreadsheet would run as a formula (=, +, -, @ first: names are
 * chosen by clients) is prefixed with an apostrophe, as OWASP advises against CSV injection.
 */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const CSV_COLUMNS = ['finding', 'principal', 'permission', 'operation', 'resource_type', 'resource_name', 'pattern', 'host', 'last_seen', 'detail'];

export function reviewCsv(h: ReportHeader, r: Review): string {
  const rows: string[][] = [CSV_COLUMNS];
  const about = (detail: string) => ['report', '', '', '', '', '', '', '', '', detail];
  rows.push(
    about(`generated ${h.generatedAt}`),
    about(`run by ${h.runBy}`),
    about(`broker ${h.broker} (admin endpoint ${h.adminEndpoint})`),
    about(`unused: no observed access or login in ${h.unusedDays} day(s), since ${h.unusedSince}`),
    about(`access log records since ${h.recordingSince}; ${h.dropped} observation(s) dropped`),
  );
  const s = summary(r);
  rows.push(about(`summary: ${s.unusedGrants} unused grant(s), ${s.inactivePrincipals} principal(s) not seen logging in, ${s.superUsers} super user(s), ${s.wildcardGrants} wildcard grant(s)`));
  for (const g of r.unusedGrants) rows.push(['unused-grant', ...bindingCells(g.binding), isoOrNever(g.lastUsedMs), '']);
  for (const p of r.inactivePrincipals) rows.push(['principal-not-seen', p.principal, '', '', '', '', '', '', isoOrNever(p.lastLoginMs), `named in ${p.namedIn.join('+')}`]);
  for (const u of r.superUsers) rows.push(['super-user', u.principal, '', '', '', '', '', '', isoOrNever(u.lastLoginMs), '']);
  for (const g of r.wildcardGrants) rows.push(['wildcard-grant', ...bindingCells(g.binding), '', g.wildcards.join('; ')]);
  return rows.map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}
