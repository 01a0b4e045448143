import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAclBinding } from '../../../../src/client/admin.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../../src/protocol/acl.js';
import type { AccessScope, ObservedAccess } from '../../../../src/security/access-log/observed-access.js';
import { diffBindings, proposalHost } from '../../../../src/security/least-privilege/binding-diff.js';
import type { Binding } from '../../../../src/security/least-privilege/grants.js';
import { proposeGrants } from '../../../../src/security/least-privilege/proposal.js';

const { READ, WRITE, DESCRIBE, CREATE, IDEMPOTENT_WRITE, ALL, ALTER_CONFIGS, DESCRIBE_CONFIGS } = AclOperation;
const { TOPIC, GROUP, CLUSTER } = ResourceType;
const P = 'User:app';

function seen(operation: AclOperation, resourceType: ResourceType, resourceName: string, allowed = true, scope: AccessScope = 'named', principal = P): ObservedAccess {
  return { principal, operation, resourceType, resourceName, scope, allowed, firstSeenMs: 1, lastSeenMs: 2, count: 1 };
}

/** What a producer and a group consumer of `orders.eu` were seen asking (a librdkafka client's requests). */
const APP = [
  seen(DESCRIBE, TOPIC, 'orders.eu'), // Metadata, ListOffsets, OffsetFetch
  seen(WRITE, TOPIC, 'orders.eu'), // Produce
  seen(READ, TOPIC, 'orders.eu'), // Fetch, OffsetCommit
  seen(DESCRIBE, GROUP, 'billing'), // FindCoordinator, OffsetFetch
  seen(READ, GROUP, 'billing'), // JoinGroup, SyncGroup, Heartbeat, OffsetCommit, LeaveGroup
];

const existing = (topics: string[], groups: string[] = []) =>
  new Map([
    [TOPIC, topics],
    [GROUP, groups],
  ] as const);

const lines = (bindings: readonly { binding: Binding }[]) => bindings.map((g) => formatAclBinding(g.binding));
const allow = (resourceType: ResourceType, resourceName: string, operation: AclOperation, patternType: PatternType = PatternType.LITERAL, host = '*', principal = P): Binding => ({
  resourceType,
  resourceName,
  patternType,
  principal,
  host,
  operation,
  permission: AclPermissionType.ALLOW,
});

describe('proposeGrants', () => {
  it('a producer and group consumer: WRITE and READ on the topic, READ on the group; DESCRIBE is implied', () => {
    const proposal = proposeGrants({ principal: P, observed: APP, existing: existing(['orders.eu', 'orders.us']), host: '*' });
    assert.deepEqual(lines(proposal.grants), [
      formatAclBinding(allow(TOPIC, 'orders.eu', READ)),
      formatAclBinding(allow(TOPIC, 'orders.eu', WRITE)),
      formatAclBinding(allow(GROUP, 'billing', READ)),
    ]);
    assert.deepEqual(proposal.flagged, []);
    assert.equal(proposal.used.length, 5);
  });

  it('listing filters and auto-creation probes need nothing; the broad alternative that let a request through is proposed', () => {
    const observed = [
      ...APP,
      seen(DESCRIBE, TOPIC, 'payments', true, 'listing'),
      seen(DESCRIBE, GROUP, 'other', true, 'listing'),
      seen(CREATE, CLUSTER, 'kafka-cluster', true, 'probe'),
      seen(CREATE, TOPIC, 'orders.eu', false, 'probe'),
      seen(CREATE, CLUSTER, 'kafka-cluster', true, 'alternative'), // CreateTopics let through by the cluster grant
    ];
    const proposal = proposeGrants({ principal: P, observed, existing: existing(['orders.eu', 'payments']), host: '*' });
    assert.ok(lines(proposal.grants).includes(formatAclBinding(allow(CLUSTER, 'kafka-cluster', CREATE))));
    assert.ok(!lines(proposal.grants).some((l) => l.includes('payments') || l.includes('name=other')));
    assert.equal(proposal.grants.length, 4);
    assert.equal(proposal.notNeeded, 4);
  });

  it('an idempotent producer writing to a topic needs no IDEMPOTENT_WRITE on the cluster (KIP-679); one that wrote nowhere does', () => {
    const viaCluster = seen(IDEMPOTENT_WRITE, CLUSTER, 'kafka-cluster', true, 'alternative');
    const viaTopic = seen(WRITE, TOPIC, '', true, 'any');
    for (const init of [viaCluster, viaTopic]) {
      const proposal = proposeGrants({ principal: P, observed: [...APP, init], existing: existing(['orders.eu']), host: '*' });
      assert.equal(proposal.grants.length, 3);
      assert.ok(proposal.notes.some((n) => n.includes('KIP-679')));
    }
    const alone = proposeGrants({ principal: P, observed: [viaCluster], existing: existing([]), host: '*' });
    assert.deepEqual(lines(alone.grants), [formatAclBinding(allow(CLUSTER, 'kafka-cluster', IDEMPOTENT_WRITE))]);
  });

  it('groups topics into an exact prefix, and drops what that prefix implies', () => {
    const observed = [seen(READ, TOPIC, 'orders.eu'), seen(READ, TOPIC, 'orders.us'), seen(DESCRIBE, TOPIC, 'orders.apac'), seen(ALTER_CONFIGS, TOPIC, 'x'), seen(DESCRIBE_CONFIGS, TOPIC, 'x')];
    const proposal = proposeGrants({ principal: P, observed, existing: existing(['orders.eu', 'orders.us', 'orders.apac', 'x']), host: '*' });
    // orders.apac was only described: READ on orders.* would grant it more, so READ stays literal.
    assert.deepEqual(lines(proposal.grants), [
      formatAclBinding(allow(TOPIC, 'orders.apac', DESCRIBE)),
      formatAclBinding(allow(TOPIC, 'orders.eu', READ)),
      formatAclBinding(allow(TOPIC, 'orders.us', READ)),
      formatAclBinding(allow(TOPIC, 'x', ALTER_CONFIGS)),
    ]);
    const exact = proposeGrants({ principal: P, observed, existing: existing(['orders.eu', 'orders.us', 'x']), host: '*' });
    // Every existing orders.… topic was read: one PREFIXED READ, which implies the DESCRIBE of orders.apac too.
    assert.deepEqual(lines(exact.grants), [
      formatAclBinding(allow(TOPIC, 'orders.', READ, PatternType.PREFIXED)),
      formatAclBinding(allow(TOPIC, 'x', ALTER_CONFIGS)),
    ]);
  });

  it('shows what was denied apart and proposes it flagged, unless a proposed grant covers it', () => {
    const observed = [...APP, seen(WRITE, TOPIC, 'payments', false), seen(DESCRIBE, TOPIC, 'orders.eu', false), seen(WRITE, TOPIC, '', false, 'any')];
    const proposal = proposeGrants({ principal: P, observed, existing: existing(['orders.eu', 'payments']), host: '*' });
    assert.equal(proposal.grants.length, 3);
    assert.equal(proposal.denied.length, 3);
    assert.deepEqual(lines(proposal.flagged), [formatAclBinding(allow(TOPIC, 'payments', WRITE))]);
  });

  it('ignores other principals’ observations and never proposes a literal "*"', () => {
    const observed = [...APP, seen(ALL, TOPIC, 'secret', true, 'named', 'User:other'), seen(READ, GROUP, '*')];
    const proposal = proposeGrants({ principal: P, observed, existing: existing(['orders.eu']), host: '*' });
    assert.equal(proposal.grants.length, 3);
    assert.ok(proposal.notes.some((n) => n.includes('"*"')));
  });
});

describe('diffBindings', () => {
  const proposal = proposeGrants({ principal: P, observed: APP, existing: existing(['orders.eu']), host: '*' });

  it('adds what is missing, removes what is broader (replaced) or unused, keeps what matches and every DENY', () => {
    const current = [
      allow(TOPIC, '*', ALL),
      allow(TOPIC, 'payments', READ),
      allow(GROUP, 'billing', READ),
      { ...allow(TOPIC, 'secret', READ), permission: AclPermissionType.DENY },
    ];
    const diff = diffBindings(proposal, current, APP);
    assert.deepEqual(diff.add.map(formatAclBinding), [formatAclBinding(allow(TOPIC, 'orders.eu', READ)), formatAclBinding(allow(TOPIC, 'orders.eu', WRITE))]);
    assert.deepEqual(diff.keep.map(formatAclBinding), [formatAclBinding(allow(GROUP, 'billing', READ))]);
    assert.deepEqual(
      diff.remove.map((r) => [r.binding.resourceName, r.why]),
      [
        ['*', 'replaced'],
        ['payments', 'unused'],
      ],
    );
    assert.equal(diff.keepDeny.length, 1);
  });

  it('proposes for the host every ALLOW binding of the principal names, else *', () => {
    assert.equal(proposalHost([allow(TOPIC, 'a', READ, PatternType.LITERAL, '10.0.0.5'), allow(GROUP, 'g', READ, PatternType.LITERAL, '10.0.0.5')]), '10.0.0.5');
    assert.equal(proposalHost([allow(TOPIC, 'a', READ, PatternType.LITERAL, '10.0.0.5'), allow(GROUP, 'g', READ)]), '*');
    assert.equal(proposalHost([]), '*');
  });
});
