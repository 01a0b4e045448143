import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { formatAclBinding, MATCH_ALL_ACLS, type AclBinding, type AdminClient } from '../../client/admin.js';
import { aclOperationName, resourceTypeName, ResourceType, PatternType } from '../../protocol/acl.js';
import { observedAccessToJson, type ObservedAccess } from '../../security/access-log/observed-access.js';
import { diffBindings, proposalHost, type BindingDiff } from '../../security/least-privilege/binding-diff.js';
import { WILDCARD_PRINCIPAL } from '../../security/least-privilege/grants.js';
import { proposeGrants, type Proposal } from '../../security/least-privilege/proposal.js';
import { action, loadConfig, UsageError, withAdmin, withConnectionOptions, type AdminIo } from '../admin/common.js';
import { formatTable } from '../admin/table.js';
import { bindingJson, fetchAccess, parseDuration, principalArgument, withEndpointFlags, type EndpointFlags } from './access-source.js';

interface AdviseFlags extends EndpointFlags {
  readonly principal?: string;
  readonly since: string;
  readonly apply?: boolean;
  readonly yes?: boolean;
  readonly includeDenied?: boolean;
  readonly json?: boolean;
}

interface Advice {
  readonly principal: string;
  readonly sinceMs: number;
  readonly recordingSinceMs: number;
  readonly dropped: number;
  readonly observed: readonly ObservedAccess[];
  readonly proposal: Proposal;
  readonly diff: BindingDiff;
  /** Bindings of User:* (every principal's), which apply to this one too and are not changed. */
  readonly everyone: readonly AclBinding[];
}

/**
 * `parapet acl advise --principal P [--since 30d] [--apply [--yes]]`: the smallest ACL set covering what P
 * was observed doing (src/security/least-privilege/proposal.ts), and its difference with P's bindings;
 * `--apply` makes P's bindings exactly the proposal (CreateAcls, then DeleteAcls), after the diff is
 * shown and confirmed: on a terminal by answering y, elsewhere only with --yes.
 */
export function registerAclAdvise(acl: Command, io: AdminIo): void {
  withEndpointFlags(withConnectionOptions(acl.command('advise').description('propose the smallest ACL set that covers what a principal did (observed by the broker); --apply applies it')))
    .option('--principal <principal>', 'the principal to advise on: User:NAME (or NAME)')
    .option('--since <duration>', 'the observations to base it on: last seen within this (30d, 12h, 2w…)', '30d')
    .option('--apply', "make the principal's bindings exactly the proposal, after showing the changes")
    .option('--yes', 'with --apply: do not ask (needed when standard input is not a terminal)')
    .option('--include-denied', 'with --apply: also grant what was attempted and denied (flagged !)')
    .option('--json', 'print the observations, the proposal and the changes as JSON')
    .action(
      action(io, async (flags: AdviseFlags) => {
        if (flags.principal === undefined) throw new UsageError('give --principal, e.g. User:alice');
        const principal = principalArgument(flags.principal);
        const windowMs = parseDuration(flags.since, '--since');
        if (flags.yes === true && flags.apply !== true) throw new UsageError('--yes goes with --apply');
        if (flags.includeDenied === true && flags.apply !== true) throw new UsageError('--include-denied goes with --apply');
        if (flags.json === true && flags.apply === true) throw new UsageError('--json shows a proposal; apply it without --json');
        const config = loadConfig(flags);
        const sinceMs = Date.now() - windowMs;
        const answer = await fetchAccess(flags, principal, sinceMs);
        await withAdmin(io, config, async (admin) => {
          const advice = await advise(admin, principal, answer.entries, { sinceMs, recordingSinceMs: answer.recordingSinceMs, dropped: answer.dropped });
          io.stdout(flags.json === true ? `${JSON.stringify(adviceJson(advice), null, 2)}\n` : formatAdvice(advice, flags.since));
          if (flags.apply === true) await apply(io, admin, advice, flags);
        });
      }),
    );
}

async function advise(admin: AdminClient, principal: string, observed: ObservedAccess[], window: { sinceMs: number; recordingSinceMs: number; dropped: number }): Promise<Advice> {
  const current = await admin.describeAcls({ ...MATCH_ALL_ACLS, principal });
  const everyone = await admin.describeAcls({ ...MATCH_ALL_ACLS, principal: WILDCARD_PRINCIPAL });
  // What exists now: a prefix is proposed only where every topic or group under it was used.
  const topics = (await admin.listTopics()).map((t) => t.name);
  const groups = (await admin.groups.list()).map((g) => g.groupId);
  const existing = new Map([
    [ResourceType.TOPIC, topics],
    [ResourceType.GROUP, groups],
  ] as const);
  const proposal = proposeGrants({ principal, observed, existing, host: proposalHost(current) });
  return { principal, ...window, observed, proposal, diff: diffBindings(proposal, current, observed), everyone };
}

const opName = (op: number) => aclOperationName(op) ?? String(op);
const typeName = (type: number) => resourceTypeName(type) ?? String(type);

function observationRows(list: readonly ObservedAccess[]): string[][] {
  return list.map((a) => [opName(a.operation), typeName(a.resourceType), a.scope === 'any' ? '(any)' : a.resourceName, a.scope, String(a.count), new Date(a.lastSeenMs).toISOString()]);
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `  ${l}\n`)
    .join('');
}

export function formatAdvice(a: Advice, since: string): string {
  const out: string[] = [];
  const { proposal, diff } = a;
  out.push(`Observed access of ${a.principal}, last seen within ${since} (since ${new Date(a.sinceMs).toISOString()}):\n`);
  if (a.recordingSinceMs > a.sinceMs) out.push(`  note: the access log records since ${new Date(a.recordingSinceMs).toISOString()}, later than the window's start\n`);
  if (a.dropped > 0) out.push(`  warning: the access log dropped ${a.dropped} observation(s) to stay within its bounds: what it shows may be incomplete (accessLog.maxEntries)\n`);
  const headers = ['OPERATION', 'RESOURCE', 'NAME', 'SCOPE', 'COUNT', 'LAST-SEEN'];
  out.push('allowed:\n', proposal.used.length === 0 ? '  (none)\n' : indent(formatTable(headers, observationRows(proposal.used))));
  out.push('attempted and denied:\n', proposal.denied.length === 0 ? '  (none)\n' : indent(formatTable(headers, observationRows(proposal.denied))));
  if (proposal.notNeeded > 0) out.push(`${proposal.notNeeded} other check(s) only filtered a listing or probed (auto-creation): they need no grant\n`);
  out.push(`\nProposal: ${proposal.grants.length} binding(s) cover what was allowed${proposal.flagged.length > 0 ? `, ${proposal.flagged.length} more (flagged) what was denied` : ''}:\n`);
  for (const g of proposal.grants) {
    const prefixed = g.binding.patternType === PatternType.PREFIXED ? ` (exact: every existing ${typeName(g.binding.resourceType).toLowerCase()} under it was used: ${g.covers.join(', ')})` : '';
    out.push(`  ${formatAclBinding(g.binding)}${prefixed}${g.note === undefined ? '' : `  # ${g.note}`}\n`);
  }
  for (const g of proposal.flagged) out.push(`! ${formatAclBinding(g.binding)}  # ${g.note ?? 'denied when attempted'}\n`);
  for (const note of proposal.notes) out.push(`  note: ${note}\n`);
  out.push(`\nChanges to the bindings of ${a.principal} (+ add, - remove, = keep, ! only with --include-denied):\n`);
  for (const b of diff.add) out.push(`+ ${formatAclBinding(b)}\n`);
  for (const r of diff.remove) out.push(`- ${formatAclBinding(r.binding)}  # ${r.why === 'unused' ? `never used since ${new Date(a.sinceMs).toISOString()}` : 'used, but broader than what was used: replaced by the proposal'}\n`);
  for (const b of diff.keep) out.push(`= ${formatAclBinding(b)}\n`);
  for (const b of diff.flagged) out.push(`! ${formatAclBinding(b)}\n`);
  for (const b of diff.keepDeny) out.push(`= ${formatAclBinding(b)}  # a DENY binding: kept\n`);
  if (diff.add.length === 0 && diff.remove.length === 0) out.push('  nothing to change\n');
  if (a.everyone.length > 0) out.push(`  note: ${a.everyone.length} binding(s) of User:* apply to every principal, this one included; they are not changed here (see parapet access review)\n`);
  return out.join('');
}

function adviceJson(a: Advice): object {
  return {
    principal: a.principal,
    since: new Date(a.sinceMs).toISOString(),
    recordingSince: new Date(a.recordingSinceMs).toISOString(),
    dropped: a.dropped,
    allowed: a.proposal.used.map(observedAccessToJson),
    denied: a.proposal.denied.map(observedAccessToJson),
    notNeeded: a.proposal.notNeeded,
    proposal: a.proposal.grants.map((g) => ({ ...bindingJson(g.binding), covers: g.covers, ...(g.note === undefined ? {} : { note: g.note }) })),
    flagged: a.proposal.flagged.map((g) => ({ ...bindingJson(g.binding), covers: g.covers })),
    notes: a.proposal.notes,
    changes: {
      add: a.diff.add.map(bindingJson),
      remove: a.diff.remove.map((r) => ({ ...bindingJson(r.binding), why: r.why })),
      keep: a.diff.keep.map(bindingJson),
      keepDeny: a.diff.keepDeny.map(bindingJson),
      flagged: a.diff.flagged.map(bindingJson),
    },
    everyone: a.everyone.map(bindingJson),
  };
}

async function apply(io: AdminIo, admin: AdminClient, advice: Advice, flags: AdviseFlags): Promise<void> {
  const add = [...advice.diff.add, ...(flags.includeDenied === true ? advice.diff.flagged : [])];
  const remove = advice.diff.remove.map((r) => r.binding);
  if (add.length === 0 && remove.length === 0) {
    io.stderr('parapet: nothing to apply: the bindings are the proposal already\n');
    return;
  }
  if (advice.proposal.used.length === 0) {
    // Nothing observed is no evidence of nothing needed (a quiet week, an access log turned on today).
    throw new UsageError(`no allowed access of ${advice.principal} was observed in the window: applying would remove all its grants; remove them with \`parapet acl remove --principal ${advice.principal}\` if that is meant`);
  }
  if (flags.yes !== true) {
    const answer = await confirm(`apply ${add.length} addition(s) and ${remove.length} removal(s) to the bindings of ${advice.principal}?`);
    if (answer === 'no-terminal') throw new UsageError('--apply changes ACLs: confirm with --yes when standard input is not a terminal');
    if (!answer) {
      io.stderr('parapet: not applied\n');
      io.setExitCode(1);
      return;
    }
  }
  // Added before anything is removed: the principal's clients never lack a grant they use.
  if (add.length > 0) await admin.createAcls(add);
  for (const b of add) io.stdout(`added ${formatAclBinding(b)}\n`);
  if (remove.length > 0) {
    const removed = await admin.deleteAcls(remove.map((b) => ({ ...b })));
    for (const b of removed) io.stdout(`removed ${formatAclBinding(b)}\n`);
  }
}

/** y/N on the terminal; `no-terminal` when standard input or error is not one (a script, a pipe). */
async function confirm(question: string): Promise<boolean | 'no-terminal'> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return 'no-terminal';
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await terminal.question(`${question} [y/N] `)).trim());
  } finally {
    terminal.close();
  }
}
