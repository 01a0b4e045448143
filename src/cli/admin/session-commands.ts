import { Option, type Command } from 'commander';
import { Secret } from '../../client/client-config.js';
import { ClientError } from '../../client/errors.js';
import type { SessionInfo } from '../../server/session-registry.js';
import { dataDirConfig } from '../data-dir-config.js';
import { callEndpoint, endpointUrlOf, type EndpointCredentials, type EndpointTarget } from './admin-endpoint-client.js';
import { action, DEFAULT_DATA_DIR, integer, loadConfig, UsageError, type AdminIo } from './common.js';
import { secretFromFile, secretFromFlag } from './secret-flag.js';
import { formatTable } from './table.js';

export interface SessionFlags {
  readonly dataDir: string;
  readonly clientConfig?: string;
  readonly adminUrl?: string;
  readonly adminCa?: string;
  readonly bearerTokenFile?: string;
  readonly bearerToken?: string;
}

/**
 * `parapet sessions list|kill`: who is connected, and closing them. The Kafka protocol has no API for
 * either, so these talk to the broker's admin HTTP endpoint (its address from the data directory's
 * config), authenticated as the admin client config's SCRAM user (or with the endpoint's bearer token)
 * and authorized by the broker's ACLs: DESCRIBE on the CLUSTER to list, ALTER to kill.
 */
export function registerSessionCommands(sessions: Command, io: AdminIo): void {
  withEndpointOptions(sessions.command('list').description('list the open connections: principal, address, client software, bytes'))
    .option('--json', 'print the sessions as JSON')
    .action(
      action(io, async (flags: SessionFlags & { json?: boolean }) => {
        const answer = (await callEndpoint(target(flags), credentials(flags), 'GET', '/v1/sessions')) as { sessions?: SessionInfo[] };
        const list = answer.sessions ?? [];
        if (flags.json === true) {
          io.stdout(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        if (list.length === 0) {
          io.stdout('no open connection\n');
          return;
        }
        io.stdout(
          formatTable(
            ['ID', 'PRINCIPAL', 'MECHANISM', 'REMOTE', 'LISTENER', 'CLIENT', 'AUTHENTICATED', 'EXPIRES', 'BYTES-IN', 'BYTES-OUT'],
            list.map((s) => [
              String(s.id),
              s.principal ?? '-',
              s.mechanism ?? '-',
              s.remote,
              s.listener,
              s.client ?? '-',
              s.authenticatedAt ?? 'not yet',
              s.sessionExpiresAt ?? '-',
              String(s.bytesIn),
              String(s.bytesOut),
            ]),
          ),
        );
      }),
    );

  withEndpointOptions(sessions.command('kill').description('close the connections of a principal, or one connection by its id'))
    .addOption(new Option('--principal <principal>', 'close every connection of this principal (User:NAME, or NAME)').conflicts('id'))
    .addOption(new Option('--id <id>', 'close this connection (an ID from `parapet sessions list`)').argParser(integer('--id', 1, Number.MAX_SAFE_INTEGER)))
    .action(
      action(io, async (flags: SessionFlags & { principal?: string; id?: number }) => {
        if ((flags.principal === undefined) === (flags.id === undefined)) throw new UsageError('give --principal P or --id N');
        const body = flags.id !== undefined ? { id: flags.id } : { principal: principalOf(flags.principal ?? '') };
        const answer = (await callEndpoint(target(flags), credentials(flags), 'POST', '/v1/sessions/kill', body)) as { closed?: number };
        const closed = answer.closed ?? 0;
        const what = 'id' in body ? `connection ${body.id}` : body.principal;
        if (closed === 0) {
          // As pkill: nothing matched is a failure a script can see.
          io.stderr(`parapet: no open connection of ${what}\n`);
          io.setExitCode(1);
          return;
        }
        io.stdout(`closed ${closed} connection(s) of ${what}\n`);
      }),
    );
}

export function withEndpointOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'the Parapet data directory (its config names the admin endpoint)', DEFAULT_DATA_DIR)
    .option('--client-config <file>', 'client properties with the SCRAM user to authenticate as (default: <data-dir>/client/admin.properties)')
    .option('--admin-url <url>', 'the admin endpoint (default: from the data directory\'s config, http://127.0.0.1:9644)')
    .option('--admin-ca <file>', 'CA bundle of an https admin endpoint (default: ssl.ca.location of the client config)')
    .addOption(new Option('--bearer-token-file <file>', 'authenticate with the admin endpoint\'s bearer token in this file (owner-only) instead of a SCRAM user').conflicts('bearerToken'))
    .option('--bearer-token <ref>', "the same, by reference: '${env:NAME}' or '${file:PATH}' (owner-only)");
}

function principalOf(text: string): string {
  const principal = text.startsWith('User:') ? text : `User:${text}`;
  if (principal === 'User:') throw new UsageError('--principal: give a user name');
  return principal;
}

/** The endpoint to call: --admin-url, else the data directory's config; its CA for https. */
export function target(flags: SessionFlags): EndpointTarget {
  let url: URL;
  if (flags.adminUrl !== undefined) {
    try {
      url = new URL(flags.adminUrl);
    } catch {
      throw new UsageError(`--admin-url: not a URL: ${flags.adminUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--admin-url: must start with http:// or https://');
  } else {
    url = endpointUrlOf(dataDirConfig(flags.dataDir).adminEndpoint);
  }
  const bearer = flags.bearerTokenFile !== undefined || flags.bearerToken !== undefined;
  const caFile = flags.adminCa ?? (url.protocol === 'https:' && !bearer ? loadConfig(flags).tls.caLocation : undefined);
  return { url, ...(caFile === undefined ? {} : { caFile }) };
}

/** The bearer token (--bearer-token, --bearer-token-file), else the client config's SCRAM user. */
export function credentials(flags: SessionFlags): EndpointCredentials {
  if (flags.bearerToken !== undefined) return { kind: 'bearer', token: new Secret(secretFromFlag('--bearer-token', flags.bearerToken).trim()) };
  if (flags.bearerTokenFile !== undefined) return { kind: 'bearer', token: new Secret(secretFromFile('--bearer-token-file', flags.bearerTokenFile).trim()) };
  const config = loadConfig(flags);
  if (config.sasl === undefined) {
    throw new ClientError('the client config has no sasl.username/sasl.password: the admin endpoint routes need a SCRAM user (or --bearer-token)');
  }
  return { kind: 'basic', user: config.sasl.username, password: config.sasl.password };
}
