import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../../src/protocol/acl.js';
import type { AccessScope, ObservedAccess, ObservedLogin } from '../../../../src/security/access-log/observed-access.js';
import type { Binding } from '../../../../src/security/least-privilege/grants.js';
import { reviewAccess } from '../../../../src/security/least-privilege/review.js';

const { READ, WRITE, DESCRIBE, ALL, IDEMPOTENT_WRITE } = AclOperation;
const { TOPIC, GROUP, CLUSTER } = ResourceType;
const DAY = 86_400_000;
const NOW = 100 * DAY;

const binding = (principal: string, resourceType: ResourceType, resourceName: string, operation: AclOperation, patternType: PatternType = PatternType.LITERAL, permission: AclPermissionType = AclPermissionType.ALLOW): Binding => ({
  principal,
  resourceType,
  resourceName,
  patternType,
  host: '*',
  operation,
  permission,
});
const seen = (principal: string, operation: AclOperation, resourceType: ResourceType, resourceName: string, lastSeenMs: number, allowed = true, scope: AccessScope = 'named'): ObservedAccess => ({
  principal,
  operation,
  resourceType,
  resourceName,
  scope,
  allowed,
  firstSeenMs: 0,
  lastSeenMs,
  count: 1,
});
const login = (principal: string, lastSeenMs: number): ObservedLogin => ({ principal, firstSeenMs: 0, lastSeenMs, count: 1, lastAddress: '127.0.0.1', lastMechanism: 'SCRAM-SHA-512' });

describe('reviewAccess', () => {
  const bindings = [
    binding('User:app', TOPIC, 'orders', WRITE), // used yesterday
    binding('User:app', TOPIC, 'payments', READ), // never used
    binding('User:app', TOPIC, 'ledger', READ), // used 40 days ago
    binding('User:app', TOPIC, 'orders.', DESCRIBE, PatternType.PREFIXED), // covers a DESCRIBE of orders.eu
    binding('User:*', GROUP, '*', READ), // every principal's: used by app
    binding('User:admin', CLUSTER, 'kafka-cluster', ALL),
    binding('User:app', CLUSTER, 'kafka-cluster', IDEMPOTENT_WRITE), // let InitProducerId through (an alternative check)
    binding('User:ghost', TOPIC, 'x', DESCRIBE), // a principal never seen
    binding('User:app', TOPIC, 'secret', READ, PatternType.LITERAL, AclPermissionType.DENY), // not a grant
  ];
  const observed = [
    seen('User:app', WRITE, TOPIC, 'orders', NOW - DAY),
    seen('User:app', READ, TOPIC, 'ledger', NOW - 40 * DAY),
    seen('User:app', DESCRIBE, TOPIC, 'orders.eu', NOW - DAY),
    seen('User:app', READ, GROUP, 'billing', NOW - DAY),
    seen('User:app', IDEMPOTENT_WRITE, CLUSTER, 'kafka-cluster', NOW - DAY, true, 'alternative'),
    seen('User:app', READ, TOPIC, 'payments', NOW - DAY, false), // denied: it does not use the grant
  ];
  const review = reviewAccess({
    bindings,
    scramUsers: ['app', 'admin', 'idle'],
    observed,
    logins: [login('User:app', NOW - DAY), login('User:admin', NOW - 45 * DAY)],
    superUsers: ['User:admin', 'User:root'],
    nowMs: NOW,
    unusedDays: 30,
  });

  it('lists the grants that matched no allowed access in the window, with when they last did', () => {
    assert.deepEqual(
      review.unusedGrants.map((g) => [g.binding.principal, g.binding.resourceName, g.lastUsedMs]),
      [
        ['User:app', 'payments', null],
        ['User:app', 'ledger', NOW - 40 * DAY],
        ['User:admin', 'kafka-cluster', null],
        ['User:ghost', 'x', null],
      ],
    );
  });

  it('lists the principals named in ACLs or with SCRAM credentials not seen logging in within the window', () => {
    assert.deepEqual(
      review.inactivePrincipals.map((p) => [p.principal, p.namedIn.join('+'), p.lastLoginMs]),
      [
        ['User:admin', 'acls+scram', NOW - 45 * DAY],
        ['User:ghost', 'acls', null],
        ['User:idle', 'scram', null],
      ],
    );
  });

  it('lists the super users and the wildcard grants', () => {
    assert.deepEqual(review.superUsers, [
      { principal: 'User:admin', lastLoginMs: NOW - 45 * DAY },
      { principal: 'User:root', lastLoginMs: null },
    ]);
    assert.deepEqual(
      review.wildcardGrants.map((g) => [g.binding.principal, g.wildcards]),
      [
        ['User:*', ['principal User:*', 'resource name *']],
        ['User:admin', ['operation ALL']],
      ],
    );
  });
});
