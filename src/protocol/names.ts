/**
 * The rules for the names clients send: topics, groups, transactional ids, client and member ids,
 * group instance ids, assignor protocols, config names, ACL resources and principals, and SCRAM user
 * names. One module, used by the dispatcher's name stage (src/server/name-validation), the SCRAM admin
 * API and login, the ACL store and the CLI, so that a name refused in one place is refused in all.
 *
 * Every rule bounds the length, and the dispatcher applies them before authorization and before any
 * lookup: V8 hashes a string of more than 16,383 characters by its length alone, so Map and Set keys
 * built from longer names all collide, and a request naming thousands of them costs seconds of
 * event-loop time (docs/security/limits.md, "Names"). Each function returns why a name is refused, in
 * words a client can show, or null when it is acceptable.
 */
import { PatternType, ResourceType } from './acl.js';

/** Kafka's `Topic.MAX_NAME_LENGTH`: a partition directory `<topic>-<partition>` must fit 255 bytes. */
export const MAX_TOPIC_NAME_LENGTH = 249;
const TOPIC_CHARACTERS = /^[a-zA-Z0-9._-]*$/;

/** Kafka's `Topic.validate`: 1 to 249 of `[a-zA-Z0-9._-]`, and not `.` or `..`. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'a topic name cannot be empty';
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `a topic name has at most ${MAX_TOPIC_NAME_LENGTH} characters (this one has ${name.length})`;
  if (name === '.' || name === '..') return 'a topic name cannot be "." or ".."';
  if (!TOPIC_CHARACTERS.test(name)) return 'a topic name may only contain ASCII letters, digits, ".", "_" and "-"';
  return null;
}

/**
 * Kafka's `JoinGroupRequest.validateGroupInstanceId`, which the Java client applies to
 * `group.instance.id` (KIP-345): the topic name rule. The broker applies it to every client.
 */
export function groupInstanceIdProblem(id: string): string | null {
  const problem = topicNameProblem(id);
  return problem === null ? null : problem.replace('a topic name', 'a group instance id');
}

/** The configurable bounds (config keys of the same names, docs/configuration.md). */
export interface NameLimits {
  /** Longest group id. Kafka sets none; see DEFAULT_NAME_LIMITS for why 255. */
  readonly maxGroupIdLength: number;
  /** Longest transactional id. Kafka sets none. */
  readonly maxTransactionalIdLength: number;
  /** A longer client id (request header) is cut to this length; Kafka refuses none. */
  readonly maxClientIdLength: number;
}

/**
 * Group ids: 255, far above the ids clients generate (Kafka Streams' application.id must fit in topic
 * names; Connect's `connect-<connector>`). Transactional ids: 1,024, because Kafka Streams builds them
 * from application.id plus a 36-character process id, and Flink's older sink from its task names.
 * Client ids: 255, enough for Java's `consumer-<group>-<n>` with a typical group.
 */
export const DEFAULT_NAME_LIMITS: NameLimits = { maxGroupIdLength: 255, maxTransactionalIdLength: 1024, maxClientIdLength: 255 };

/** C0 controls, DEL and C1 controls (Unicode Cc): never part of a legitimate id, and line breaks forge log lines. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function idProblem(what: string, id: string, max: number): string | null {
  if (id.length > max) return `${what} has at most ${max} characters (this one has ${id.length})`;
  if (CONTROL.test(id)) return `${what} cannot contain control characters`;
  return null;
}

/** Group ids: bounded and without control characters. Emptiness is the coordinator's to judge (Kafka allows it for offsets). */
export function groupIdProblem(id: string, limits: NameLimits): string | null {
  return idProblem('a group id', id, limits.maxGroupIdLength);
}

export function transactionalIdProblem(id: string, limits: NameLimits): string | null {
  return idProblem('a transactional id', id, limits.maxTransactionalIdLength);
}

/** The coordinator makes member ids as `<client id>-<UUID>` (as Kafka does): 37 characters on top of the client id. */
export function maxMemberIdLength(limits: NameLimits): number {
  return limits.maxClientIdLength + 37;
}

/** A member id longer than any the coordinator hands out names no member. */
export function memberIdProblem(id: string, limits: NameLimits): string | null {
  const max = maxMemberIdLength(limits);
  return id.length > max ? `a member id has at most ${max} characters` : null;
}

/**
 * The client id as the broker keeps it (logs, member ids, DescribeGroups): at most `maxClientIdLength`
 * characters. It is cut rather than refused, because Kafka accepts any client id and a request header
 * has no error to carry a refusal. A cut never leaves half a surrogate pair.
 */
export function boundClientId(clientId: string | null, limits: NameLimits): string | null {
  if (clientId === null || clientId.length <= limits.maxClientIdLength) return clientId;
  const cut = clientId.slice(0, limits.maxClientIdLength);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/**
 * Assignor protocol names (`range`, `cooperative-sticky`) and protocol types (`consumer`, `connect`)
 * are a few characters; the coordinator compares and counts them by name.
 */
export const MAX_PROTOCOL_NAME_LENGTH = 255;

export function protocolNameProblem(name: string): string | null {
  return idProblem('a group protocol name', name, MAX_PROTOCOL_NAME_LENGTH);
}

/** Config names (`retention.ms`) are a few dozen characters; handlers look them up by name. */
export const MAX_CONFIG_NAME_LENGTH = 255;

export function configNameProblem(name: string): string | null {
  return idProblem('a config name', name, MAX_CONFIG_NAME_LENGTH);
}

/** Other config resource names (the broker's id, a logger, a client metrics subscription). */
export const MAX_OTHER_RESOURCE_NAME_LENGTH = 255;

export function otherResourceNameProblem(name: string): string | null {
  return idProblem('a resource name', name, MAX_OTHER_RESOURCE_NAME_LENGTH);
}

// ---- user names ----

/** Longest SCRAM user name (characters, as Java counts them: UTF-16 code units). */
export const MAX_USER_NAME_LENGTH = 255;
/**
 * Longest name a description or deletion accepts, so that users created before the user-name rule
 * (which could have any name) can still be found and removed.
 */
export const MAX_EXISTING_USER_NAME_LENGTH = 4096;

/**
 * Characters a user name may not hold: controls (Cc), format characters such as zero-width spaces and
 * bidi overrides (Cf), surrogates (Cs), private use (Co), other default-ignorable code points
 * (variation selectors, fillers) and every separator but the ASCII space (Z, e.g. U+00A0, U+2028).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Default_Ignorable_Code_Point}]/u;
const NON_ASCII_SPACE = /[^\P{Z} ]/u;

/** Names no user may have: `User:*` is every user in an ACL, `User:ANONYMOUS` an unauthenticated client. */
const RESERVED_USER_NAMES = ['*', 'ANONYMOUS'];

/**
 * The form two names are compared in for confusion: compatibility-normalised (NFKC: fullwidth letters,
 * ligatures, superscripts fold to their plain forms) and case-folded (upper then lower case, so that
 * `ß` and `ss` meet). Cross-script look-alikes (Cyrillic `а` for Latin `a`) are not caught.
 */
export function userNameKey(name: string): string {
  return name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

const RESERVED_KEYS = new Set(RESERVED_USER_NAMES.map(userNameKey));

/**
 * The one rule for SCRAM user names, applied by login (SCRAM, PLAIN), the SCRAM admin API and
 * `parapet user`: 1 to 255 characters in Unicode NFC (Kafka compares names byte for byte, without
 * SASLprep, so a name must be stored exactly as clients send it); no control, format or invisible
 * characters and no separator but the space; no space at either end; no `:` (`User:a:b` reads as a
 * principal of another type); not `*` or `ANONYMOUS` in any case or width.
 */
export function userNameProblem(name: string): string | null {
  if (name.length === 0) return 'a user name cannot be empty';
  if (name.length > MAX_USER_NAME_LENGTH) return `a user name has at most ${MAX_USER_NAME_LENGTH} characters (this one has ${name.length})`;
  if (INVISIBLE.test(name)) return 'a user name cannot contain control, format or invisible characters';
  if (NON_ASCII_SPACE.test(name)) return 'a user name cannot contain line separators or spaces other than the ASCII space';
  if (name.trim() !== name) return 'a user name cannot start or end with a space';
  if (name.normalize('NFC') !== name) return 'a user name must be in Unicode NFC form (as keyboards type it)';
  if (name.includes(':')) return 'a user name cannot contain ":" (User:<name> would read as a principal of another type)';
  if (RESERVED_KEYS.has(userNameKey(name))) return 'a user name cannot be "*" or "ANONYMOUS", in any case or width: User:* means every user, User:ANONYMOUS an unauthenticated client';
  return null;
}

/** What a description or deletion accepts: any name a user may have had, bounded. */
export function existingUserNameProblem(name: string): string | null {
  if (name.length === 0) return 'a user name cannot be empty';
  if (name.length > MAX_EXISTING_USER_NAME_LENGTH) return `no user name has more than ${MAX_EXISTING_USER_NAME_LENGTH} characters`;
  return null;
}

/**
 * The existing user a new name would be confused with (same `userNameKey`, different name), if any.
 * The name itself among `existing` is no conflict: that is the same user.
 */
export function confusableUserName(name: string, existing: Iterable<string>): string | undefined {
  const key = userNameKey(name);
  for (const other of existing) if (other !== name && userNameKey(other) === key) return other;
  return undefined;
}

// ---- ACL bindings ----

/** Longest principal in an ACL binding: `User:` and a name, or a certificate's mapped subject. */
export const MAX_PRINCIPAL_LENGTH = 1024;

export function principalProblem(principal: string): string | null {
  return idProblem('a principal', principal, MAX_PRINCIPAL_LENGTH);
}

/**
 * An ACL binding's resource name must be one its resource type could have (else the binding could never
 * apply): the type's own rule for LITERAL names, plus `*`; for PREFIXED names, a beginning of such a
 * name. The CLUSTER name is checked by the ACL store; other types get a bound.
 */
export function aclResourceNameProblem(resourceType: number, patternType: number, name: string, limits: NameLimits): string | null {
  if (name === '*' && patternType !== PatternType.PREFIXED) return null;
  switch (resourceType) {
    case ResourceType.TOPIC:
      if (patternType !== PatternType.PREFIXED) return topicNameProblem(name);
      // A beginning of a valid topic name ("." begins ".orders"); emptiness is the ACL store's to refuse.
      if (name.length > MAX_TOPIC_NAME_LENGTH || !TOPIC_CHARACTERS.test(name)) {
        return `a topic prefix has at most ${MAX_TOPIC_NAME_LENGTH} of ASCII letters, digits, ".", "_" and "-"`;
      }
      return null;
    case ResourceType.GROUP:
      return groupIdProblem(name, limits);
    case ResourceType.TRANSACTIONAL_ID:
      return transactionalIdProblem(name, limits);
    default:
      return idProblem('a resource name', name, MAX_EXISTING_USER_NAME_LENGTH);
  }
}

/** ACL hosts are `*`, an IP address or a CIDR range: well under this. */
export const MAX_ACL_HOST_LENGTH = 255;

export function aclHostProblem(host: string): string | null {
  return idProblem('an ACL host', host, MAX_ACL_HOST_LENGTH);
}

/** The longest resource name any binding can hold: a filter naming a longer one can match nothing. */
export function maxAclResourceNameLength(limits: NameLimits): number {
  return Math.max(MAX_TOPIC_NAME_LENGTH, limits.maxGroupIdLength, limits.maxTransactionalIdLength, MAX_EXISTING_USER_NAME_LENGTH);
}
