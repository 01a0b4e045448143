import { formatAclBinding, type AclBinding, type ScramUserDescription } from '../../client/admin.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../protocol/acl.js';
import { finding, type Finding } from '../finding.js';
import { RULES } from '../rules.js';

/** What the authenticated part of the scan read about who may do what. */
export interface AccessObservation {
  /** The bindings (DescribeAcls), or why they could not be read; 'disabled': the cluster has no authorizer. */
  readonly acls: readonly AclBinding[] | 'disabled' | { readonly error: string };
  /** SCRAM users (DescribeUserScramCredentials), or why they could not be read. */
  readonly users: readonly ScramUserDescription[] | { readonly error: string };
  /** `super.users` from the broker's configs, when it shows them. */
  readonly superUsers: readonly string[] | undefined;
  readonly minIterations: number;
}

/** Operations that change a topic's content or existence. */
const WRITING = new Set<number>([AclOperation.ALL, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.ALTER_CONFIGS]);

/** ACL and credential review (controls 1 and 7). */
export function accessFindings(o: AccessObservation, target: string): Finding[] {
  const out: Finding[] = [];
  const superUsers = new Set(o.superUsers ?? []);
  if (o.superUsers !== undefined && o.superUsers.length > 0) out.push(finding(RULES.superUsers, target, `super.users: ${o.superUsers.join(', ')}`));
  if (o.acls === 'disabled') {
    out.push(finding(RULES.noAuthorizer, target, 'DescribeAcls answered SECURITY_DISABLED: no authorizer is configured'));
  } else if ('error' in o.acls) {
    out.push(finding(RULES.aclsUnavailable, target, o.acls.error));
  } else {
    const allows = o.acls.filter((b) => b.permission === AclPermissionType.ALLOW);
    const each = (rule: (typeof RULES)[keyof typeof RULES], matches: (b: AclBinding) => boolean) => {
      for (const b of allows.filter(matches)) out.push(finding(rule, target, formatAclBinding(b)));
    };
    each(RULES.wildcardPrincipal, (b) => b.principal === 'User:*');
    each(RULES.allOperations, (b) => b.operation === AclOperation.ALL && b.principal !== 'User:*');
    each(RULES.wildcardResource, (b) => b.resourceName === '*' && b.patternType === PatternType.LITERAL && b.resourceType !== ResourceType.CLUSTER && b.principal !== 'User:*');
    each(RULES.internalWrite, (b) => b.resourceType === ResourceType.TOPIC && WRITING.has(b.operation) && !superUsers.has(b.principal) && namesInternal(b));
    if (!('error' in o.users)) {
      const known = new Set(o.users.map((u) => `User:${u.user}`));
      // Only plain user names can be checked against SCRAM users: a `User:cert:…` or `User:oauth:…`
      // principal logs in another way.
      const unknown = [...new Set(o.acls.map((b) => b.principal))].filter((p) => p !== 'User:*' && /^User:[^:]+$/.test(p) && !known.has(p) && !superUsers.has(p));
      for (const p of unknown) out.push(finding(RULES.unknownPrincipal, target, `${p}: ${o.acls.filter((b) => b.principal === p).length} binding(s)`));
      const granted = new Set(o.acls.map((b) => b.principal));
      for (const u of o.users) {
        const p = `User:${u.user}`;
        if (!granted.has(p) && !granted.has('User:*') && !superUsers.has(p)) out.push(finding(RULES.userWithoutAcls, target, p));
      }
    }
  }
  if ('error' in o.users) {
    out.push(finding(RULES.credentialsUnavailable, target, o.users.error));
  } else {
    for (const u of o.users) {
      const low = u.credentials.filter((c) => c.iterations < o.minIterations);
      if (low.length > 0) out.push(finding(RULES.lowIterations, target, `User:${u.user}: ${low.map((c) => `${c.mechanism} ${c.iterations} iterations`).join(', ')} (minimum ${o.minIterations})`));
    }
  }
  return out;
}

/** Whether the binding covers an internal topic (Kafka's and Parapet's start with `__`). */
function namesInternal(b: AclBinding): boolean {
  if (b.patternType === PatternType.PREFIXED) return b.resourceName === '' || b.resourceName.startsWith('__') || '__'.startsWith(b.resourceName);
  return b.resourceName === '*' || b.resourceName.startsWith('__');
}
