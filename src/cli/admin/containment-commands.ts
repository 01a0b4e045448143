import { Option, type Command } from 'commander';
import { callEndpoint } from './admin-endpoint-client.js';
import { action, UsageError, type AdminIo } from './common.js';
import { credentials, target, withEndpointOptions, type SessionFlags } from './session-commands.js';
import { formatTable } from './table.js';

/**
 * Incident response from the command line (docs/security/incident-response.md): `parapet user
 * disable|enable` and `parapet lockdown on|off|status`. The Kafka protocol has no API for either, so
 * these talk to the broker's admin HTTP endpoint (src/metrics/admin-containment.ts), authenticated as
 * `parapet sessions` is and authorized by the broker's ACLs: ALTER on the CLUSTER to change, DESCRIBE
 * to look.
 */

/** One row of GET /v1/principals/disabled. */
export interface DisabledRow {
  readonly principal: string;
  readonly since: string;
  readonly by: string;
  readonly reason: string;
}

interface LockdownAnswer {
  readonly on?: boolean;
  readonly since?: string;
  readonly by?: string;
  readonly reason?: string;
  readonly superUsers?: readonly string[];
  readonly closed?: number;
  readonly already?: boolean;
  readonly wasOn?: boolean;
}

interface TargetFlags extends SessionFlags {
  readonly principal?: string;
  readonly reason?: string;
}

/** `User:NAME` from `<name>` or `--principal P` (exactly one of them). */
function principalOf(name: string | undefined, flags: TargetFlags): string {
  if ((name === undefined) === (flags.principal === undefined)) throw new UsageError('give a user name, or --principal User:NAME for any principal (User:cert:CN, User:oauth:SUBJECT)');
  if (name !== undefined) {
    if (name === '' || name.startsWith('User:')) throw new UsageError(`give the user name without "User:" (or use --principal): ${JSON.stringify(name)}`);
    return `User:${name}`;
  }
  const principal = flags.principal ?? '';
  if (!/^User:.+/s.test(principal)) throw new UsageError(`--principal must look like User:NAME, got ${JSON.stringify(principal.slice(0, 64))}`);
  return principal;
}

/** `parapet user disable|enable`: registered in the `user` group beside add, passwd, list and delete. */
export function registerUserContainmentCommands(user: Command, io: AdminIo): void {
  withEndpointOptions(
    user
      .command('disable')
      .description('disable a principal without deleting it: its logins are refused and its live connections closed at once (admin endpoint)')
      .argument('[name]', 'user name (the principal is User:<name>)')
      .addOption(new Option('--principal <principal>', 'any principal instead of a user name: User:cert:CN, User:oauth:SUBJECT…'))
      .option('--reason <text>', 'why, for the audit trail and `user list` (one line)'),
  ).action(
    action(io, async (name: string | undefined, flags: TargetFlags) => {
      const principal = principalOf(name, flags);
      const answer = (await callEndpoint(target(flags), credentials(flags), 'POST', '/v1/principals/disable', { principal, reason: flags.reason ?? '' })) as { closed?: number; already?: boolean; since?: string };
      const closed = answer.closed ?? 0;
      io.stdout(`${answer.already === true ? 'still disabled' : 'disabled'}: ${principal} (since ${answer.since ?? '?'}); ${closed} live connection(s) closed\n`);
    }),
  );

  withEndpointOptions(
    user
      .command('enable')
      .description('enable a disabled principal again: it logs in with its credentials and ACLs as before (admin endpoint)')
      .argument('[name]', 'user name')
      .addOption(new Option('--principal <principal>', 'any principal instead of a user name')),
  ).action(
    action(io, async (name: string | undefined, flags: TargetFlags) => {
      const principal = principalOf(name, flags);
      const answer = (await callEndpoint(target(flags), credentials(flags), 'POST', '/v1/principals/enable', { principal })) as { enabled?: boolean };
      io.stdout(answer.enabled === true ? `enabled: ${principal}\n` : `${principal} was not disabled: nothing changed\n`);
    }),
  );
}

/** The disabled principals from the admin endpoint, for `parapet user list`. */
export async function fetchDisabled(flags: SessionFlags): Promise<DisabledRow[]> {
  const answer = (await callEndpoint(target(flags), credentials(flags), 'GET', '/v1/principals/disabled')) as { disabled?: DisabledRow[] };
  return answer.disabled ?? [];
}

/** `parapet lockdown on|off|status`. */
export function registerLockdownCommands(lockdown: Command, io: AdminIo): void {
  withEndpointOptions(lockdown.command('on').description('deny every principal but the super users at once, live connections too; kept across restarts until `lockdown off`'))
    .option('--reason <text>', 'why, for the audit trail and `lockdown status` (one line)')
    .action(
      action(io, async (flags: SessionFlags & { reason?: string }) => {
        const answer = (await callEndpoint(target(flags), credentials(flags), 'POST', '/v1/lockdown', { on: true, reason: flags.reason ?? '' })) as LockdownAnswer;
        if (answer.already === true) {
          io.stdout(`lockdown was on already (since ${answer.since ?? '?'}, by ${answer.by ?? '?'}: ${answer.reason ?? ''})\n`);
          return;
        }
        io.stdout(`lockdown on: only super users may connect; ${answer.closed ?? 0} live connection(s) closed\nlift it with: parapet lockdown off\n`);
      }),
    );

  withEndpointOptions(lockdown.command('off').description('lift the lockdown: every principal may log in again, with its ACLs'))
    .action(
      action(io, async (flags: SessionFlags) => {
        const answer = (await callEndpoint(target(flags), credentials(flags), 'POST', '/v1/lockdown', { on: false })) as LockdownAnswer;
        io.stdout(answer.wasOn === true ? `lockdown off (it was on since ${answer.since ?? '?'})\n` : 'lockdown was not on: nothing changed\n');
      }),
    );

  withEndpointOptions(lockdown.command('status').description('whether the broker is in lockdown: since when, by whom, why, and who it lets in'))
    .option('--json', 'print the state as JSON')
    .action(
      action(io, async (flags: SessionFlags & { json?: boolean }) => {
        const answer = (await callEndpoint(target(flags), credentials(flags), 'GET', '/v1/lockdown')) as LockdownAnswer;
        if (flags.json === true) {
          io.stdout(`${JSON.stringify(answer, null, 2)}\n`);
          return;
        }
        const superUsers = (answer.superUsers ?? []).join(', ') || 'none configured';
        if (answer.on !== true) {
          io.stdout(`lockdown: off\nsuper users (a lockdown lets only them in): ${superUsers}\n`);
          return;
        }
        io.stdout(
          formatTable(
            ['LOCKDOWN', 'SINCE', 'BY', 'REASON'],
            [['on', answer.since ?? '?', answer.by ?? '?', answer.reason ?? '']],
          ) + `super users (let in): ${superUsers}\n`,
        );
      }),
    );
}
