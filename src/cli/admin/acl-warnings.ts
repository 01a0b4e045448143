import type { AdminClient, AclBinding } from '../../client/admin.js';
import { ClientError } from '../../client/errors.js';
import { PatternType, ResourceType } from '../../protocol/acl.js';
import { DEFAULT_NAME_LIMITS, aclResourceNameProblem } from '../../protocol/names.js';

/**
 * Mistakes `acl add` lets through, as Kafka does, but points out: Kafka's ACLs know one wildcard,
 * a resource name of exactly `*` in a LITERAL binding (and `User:*` for principals); anywhere else a
 * `*` is an ordinary character. And a binding for a user nobody can log in as is accepted silently.
 * A topic binding with a `*` inside is refused instead (no topic name can hold one): see topicBindingProblem.
 */

const RESOURCE_FLAGS: Partial<Record<ResourceType, { readonly flag: string; readonly noun: string }>> = {
  [ResourceType.TOPIC]: { flag: '--topic', noun: 'topic' },
  [ResourceType.GROUP]: { flag: '--group', noun: 'group' },
  [ResourceType.TRANSACTIONAL_ID]: { flag: '--transactional-id', noun: 'transactional id' },
};

/** Quotes a value for a POSIX shell when it holds anything but plain characters. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9._\-:/=@+,]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** What was probably meant: the name up to its first `*` as a prefix, or, for `*` alone, the wildcard. */
function meant(flag: string, noun: string, name: string): string {
  if (name === '*') return ` You probably meant ${flag} '*' without --prefixed, which matches every ${noun}.`;
  const prefix = name.slice(0, name.indexOf('*'));
  if (prefix === '') return ` Kafka ACLs match a whole name, a prefix (--prefixed) or every name (${flag} '*'), nothing else.`;
  return ` You probably meant ${flag} ${shellQuote(prefix)} --prefixed, which matches every ${noun} whose name starts with ${JSON.stringify(prefix)}.`;
}

/**
 * Why the broker would refuse a topic binding: its name (or prefix) could never match a topic, whose
 * names follow Kafka's fixed rule (src/protocol/names.ts). Checked before connecting; groups and
 * transactional ids are bounded by the broker's own settings, so only it judges them.
 */
export function topicBindingProblem(binding: AclBinding): string | null {
  if (binding.resourceType !== ResourceType.TOPIC) return null;
  const problem = aclResourceNameProblem(ResourceType.TOPIC, binding.patternType, binding.resourceName, DEFAULT_NAME_LIMITS);
  if (problem === null) return null;
  const advice = binding.resourceName.includes('*') ? meant('--topic', 'topic', binding.resourceName) : '';
  return `--topic ${JSON.stringify(binding.resourceName)}: ${problem}, so the binding could never apply.${advice}`;
}

/** A `*` in a resource name that is not Kafka's wildcard (the bindings of one `add` share one resource). */
export function patternWarnings(bindings: readonly AclBinding[]): string[] {
  const b = bindings[0];
  if (b === undefined || !b.resourceName.includes('*')) return [];
  const resource = RESOURCE_FLAGS[b.resourceType];
  if (resource === undefined) return [];
  const { flag, noun } = resource;
  const name = JSON.stringify(b.resourceName);
  if (b.patternType === PatternType.LITERAL && b.resourceName !== '*') {
    return [
      `the LITERAL binding on ${noun} ${name} matches only a ${noun} named exactly ${name}: "*" is a wildcard only as the whole name.` +
        meant(flag, noun, b.resourceName),
    ];
  }
  if (b.patternType === PatternType.PREFIXED) {
    return [`the PREFIXED binding on ${name} matches ${noun} names that start with ${name}, "*" included: a prefix takes no wildcard.${meant(flag, noun, b.resourceName)}`];
  }
  return [];
}

/**
 * A `User:NAME` principal (not `User:*`, nor a prefixed one such as `User:cert:alice`) without SCRAM credentials. Checked with
 * DescribeUserScramCredentials (KIP-554), which the ALTER on the cluster that CreateAcls needs also
 * allows; when the broker cannot answer (no such API, not allowed), nothing is said.
 */
export async function principalWarnings(admin: AdminClient, principal: string): Promise<string[]> {
  const user = /^User:(.+)$/.exec(principal)?.[1];
  // A name with ":" can never be a SCRAM user: it is a prefixed certificate or OAUTHBEARER principal
  // (tls.principalPrefix, sasl.oauthbearer.principalPrefix), which has no credentials to look for.
  if (user === undefined || user === '*' || user.includes(':')) return [];
  try {
    if ((await admin.describeScramUsers([user])).length > 0) return [];
  } catch (err) {
    if (err instanceof ClientError) return [];
    throw err;
  }
  return [
    `there is no SCRAM user ${JSON.stringify(user)}: the binding applies only once a client logs in as ${principal}. ` +
      'That is as intended for a principal that logs in with a client certificate (mTLS) or an OAUTHBEARER token; ' +
      `otherwise check the name, or create the user: parapet user add ${shellQuote(user)}`,
  ];
}
