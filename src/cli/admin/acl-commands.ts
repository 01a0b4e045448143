import { isIP } from 'node:net';
import { Option, type Command } from 'commander';
import { AclOperation, AclPermissionType, CLUSTER_RESOURCE_NAME, parseAclOperation, PatternType, ResourceType } from '../../protocol/acl.js';
import { compareAclBindings, formatAclBinding, type AclBinding, type AclBindingFilter } from '../../client/admin.js';
import { patternWarnings, principalWarnings, topicBindingProblem } from './acl-warnings.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action, UsageError } from './common.js';
import { printable } from '../../client/printable.js';

interface AclFlags extends ConnectionFlags {
  readonly principal?: string;
  readonly allow?: boolean;
  readonly deny?: boolean;
  readonly operation?: string;
  readonly topic?: string;
  readonly group?: string;
  readonly transactionalId?: string;
  readonly subject?: string;
  readonly cluster?: boolean;
  readonly prefixed?: boolean;
  readonly host?: string;
  readonly all?: boolean;
}

function checkPrincipal(principal: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]*:.+$/.test(principal)) throw new UsageError(`--principal must be TYPE:NAME, e.g. User:alice (got "${principal}")`);
  return principal;
}

/** `*`, an IP address, or (a Parapet extension) a CIDR block. */
function checkHost(host: string): string {
  if (host === '*' || isIP(host) !== 0) return host;
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(host);
  const family = cidr?.[1] === undefined ? 0 : isIP(cidr[1]);
  if (family !== 0 && Number(cidr?.[2]) <= (family === 4 ? 32 : 128)) return host;
  throw new UsageError(`--host must be *, an IP address or a CIDR block (got "${host}")`);
}

function parseOperations(text: string, allowAny: boolean): AclOperation[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--operation needs at least one operation');
  return names.map((name) => {
    const op = parseAclOperation(name);
    if (op === undefined || op === AclOperation.UNKNOWN || (op === AclOperation.ANY && !allowAny)) {
      throw new UsageError(`unknown ACL operation "${name}" (e.g. READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALL)`);
    }
    return op;
  });
}

function resourceOf(flags: AclFlags): { type: ResourceType; name: string } | undefined {
  if (flags.topic !== undefined) return { type: ResourceType.TOPIC, name: flags.topic };
  if (flags.group !== undefined) return { type: ResourceType.GROUP, name: flags.group };
  if (flags.transactionalId !== undefined) return { type: ResourceType.TRANSACTIONAL_ID, name: flags.transactionalId };
  if (flags.subject !== undefined) return { type: ResourceType.SUBJECT, name: flags.subject };
  if (flags.cluster === true) return { type: ResourceType.CLUSTER, name: CLUSTER_RESOURCE_NAME };
  return undefined;
}

function permissionOf(flags: AclFlags): AclPermissionType | undefined {
  if (flags.allow === true) return AclPermissionType.ALLOW;
  if (flags.deny === true) return AclPermissionType.DENY;
  return undefined;
}

function bindingsFrom(flags: AclFlags): AclBinding[] {
  const permission = permissionOf(flags);
  if (permission === undefined) throw new UsageError('give --allow or --deny');
  const resource = resourceOf(flags);
  if (resource === undefined) throw new UsageError('give the resource: --topic NAME, --group NAME, --transactional-id NAME, --subject NAME or --cluster');
  if (flags.prefixed === true && resource.type === ResourceType.CLUSTER) throw new UsageError('--prefixed does not apply to --cluster');
  const principal = checkPrincipal(flags.principal ?? '');
  const host = checkHost(flags.host ?? '*');
  return parseOperations(flags.operation ?? '', false).map((operation) => ({
    resourceType: resource.type,
    resourceName: resource.name,
    patternType: flags.prefixed === true ? PatternType.PREFIXED : PatternType.LITERAL,
    principal,
    host,
    operation,
    permission,
  }));
}

/**
 * Filters for list and remove: one per operation. Without `--prefixed`, `list` matches any pattern
 * type, while `remove` with a resource name removes the LITERAL bindings only, exactly what `add`
 * without `--prefixed` created, so that a remove never reaches further than the matching add.
 */
function filtersFrom(flags: AclFlags, mode: 'list' | 'remove'): AclBindingFilter[] {
  const resource = resourceOf(flags);
  const patternType =
    flags.prefixed === true ? PatternType.PREFIXED : mode === 'remove' && resource !== undefined ? PatternType.LITERAL : PatternType.ANY;
  const base = {
    resourceType: resource?.type ?? ResourceType.ANY,
    resourceName: resource?.name ?? null,
    patternType,
    principal: flags.principal === undefined ? null : checkPrincipal(flags.principal),
    host: flags.host === undefined ? null : checkHost(flags.host),
    permission: permissionOf(flags) ?? AclPermissionType.ANY,
  };
  const operations = flags.operation === undefined ? [AclOperation.ANY] : parseOperations(flags.operation, true);
  return operations.map((operation) => ({ ...base, operation }));
}

/**
 * Without a resource flag, the same filters for Parapet's SUBJECT bindings (the schema registry's):
 * a filter of type ANY leaves them out (kafka clients cannot read the type), so they are asked for apart.
 */
function subjectFiltersFrom(flags: AclFlags, filters: readonly AclBindingFilter[]): AclBindingFilter[] {
  return resourceOf(flags) === undefined ? filters.map((f) => ({ ...f, resourceType: ResourceType.SUBJECT })) : [];
}

/** The SUBJECT part of a list or remove without a resource: a broker that does not know the type (not Parapet) is noted, not fatal. */
async function subjectPart<T>(io: AdminIo, filters: readonly AclBindingFilter[], ask: () => Promise<T[]>): Promise<T[]> {
  if (filters.length === 0) return [];
  try {
    return await ask();
  } catch (err) {
    io.stderr(`parapet: note: SUBJECT bindings (the schema registry's) were not included: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    return [];
  }
}

function isEmptyFilter(flags: AclFlags): boolean {
  return (
    flags.principal === undefined &&
    permissionOf(flags) === undefined &&
    flags.operation === undefined &&
    resourceOf(flags) === undefined &&
    flags.prefixed !== true &&
    flags.host === undefined
  );
}

function aclOptions(cmd: Command, required: boolean): Command {
  const resources = ['topic', 'group', 'transactionalId', 'subject', 'cluster'];
  const others = (self: string) => resources.filter((r) => r !== self);
  const need = required ? ' (required)' : '';
  return cmd
    .option('--principal <principal>', `principal, e.g. User:alice${need}`)
    .addOption(new Option('--allow', 'an ALLOW binding').conflicts('deny'))
    .addOption(new Option('--deny', 'a DENY binding (DENY wins over ALLOW)').conflicts('allow'))
    .option('--operation <ops>', `comma-separated operations, e.g. READ,WRITE${need}`)
    .addOption(new Option('--topic <name>', 'a topic (or topic prefix with --prefixed)').conflicts(others('topic')))
    .addOption(new Option('--group <name>', 'a consumer group (or prefix)').conflicts(others('group')))
    .addOption(new Option('--transactional-id <id>', 'a transactional id (or prefix)').conflicts(others('transactionalId')))
    .addOption(new Option('--subject <name>', 'a schema registry subject (or prefix), e.g. orders-value').conflicts(others('subject')))
    .addOption(new Option('--cluster', 'the cluster').conflicts(others('cluster')))
    .option('--prefixed', 'the name is a prefix (PREFIXED pattern) rather than a literal name')
    .option('--host <host>', `client address: *, an IP or a CIDR block${required ? ' (default *)' : ''}`);
}

/** `parapet acl add|list|remove`: ACL bindings through CreateAcls, DescribeAcls and DeleteAcls. */
export function registerAclCommands(acl: Command, io: AdminIo): void {
  withConnectionOptions(aclOptions(acl.command('add').description('add ACL bindings (one per operation)'), true)).action(
    action(io, async (flags: AclFlags) => {
      if (flags.principal === undefined) throw new UsageError('give --principal, e.g. User:alice');
      if (flags.operation === undefined) throw new UsageError('give --operation, e.g. READ or READ,WRITE');
      const bindings = bindingsFrom(flags);
      const problem = bindings[0] === undefined ? null : topicBindingProblem(bindings[0]);
      if (problem !== null) throw new UsageError(problem);
      const config = loadConfig(flags);
      const warnings = await withAdmin(io, config, async (admin) => {
        // Warnings, not refusals: Kafka accepts these bindings too. They are printed after the `added` lines.
        const found = [...patternWarnings(bindings), ...(await principalWarnings(admin, bindings[0]?.principal ?? ''))];
        await admin.createAcls(bindings);
        return found;
      });
      for (const b of bindings) io.stdout(`added ${formatAclBinding(b)}\n`);
      for (const w of warnings) io.stderr(`parapet: warning: ${printable(w)}\n`);
    }),
  );

  withConnectionOptions(aclOptions(acl.command('list').description('list ACL bindings, optionally filtered'), false)).action(
    action(io, async (flags: AclFlags) => {
      const filters = filtersFrom(flags, 'list');
      const config = loadConfig(flags);
      const bindings = await withAdmin(io, config, async (admin) => {
        // DescribeAcls takes one filter: one request per operation, merged without duplicates.
        const found = new Map<string, AclBinding>();
        for (const filter of filters) for (const b of await admin.describeAcls(filter)) found.set(formatAclBinding(b), b);
        const subjectFilters = subjectFiltersFrom(flags, filters);
        const subjects = await subjectPart(io, subjectFilters, async () => (await Promise.all(subjectFilters.map((f) => admin.describeAcls(f)))).flat());
        for (const b of subjects) found.set(formatAclBinding(b), b);
        return [...found.values()].sort(compareAclBindings);
      });
      for (const b of bindings) io.stdout(`${formatAclBinding(b)}\n`);
    }),
  );

  withConnectionOptions(
    aclOptions(acl.command('remove').description('remove the ACL bindings matching the filters'), false).option(
      '--all',
      'allow an empty filter, which removes every binding',
    ),
  ).action(
    action(io, async (flags: AclFlags) => {
      if (isEmptyFilter(flags) && flags.all !== true) {
        throw new UsageError('refusing to remove every ACL binding: give a filter (--principal, --topic, ...) or --all');
      }
      const filters = filtersFrom(flags, 'remove');
      const config = loadConfig(flags);
      const removed = await withAdmin(io, config, async (admin) => {
        const main = await admin.deleteAcls(filters);
        const subjectFilters = subjectFiltersFrom(flags, filters);
        return [...main, ...(await subjectPart(io, subjectFilters, () => admin.deleteAcls(subjectFilters)))];
      });
      if (removed.length === 0) io.stdout('no ACL binding matched\n');
      for (const b of removed) io.stdout(`removed ${formatAclBinding(b)}\n`);
    }),
  );
}

