import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AclChangeEvent, AclChangeListener } from '../../../../src/broker/handlers/acl-changes.js';
import { createAclsHandler } from '../../../../src/broker/handlers/create-acls.js';
import { deleteAclsHandler } from '../../../../src/broker/handlers/delete-acls.js';
import { describeAclsHandler } from '../../../../src/broker/handlers/describe-acls.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../../src/protocol/acl.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { CreateAcls, type CreateAclsResponse } from '../../../../src/protocol/messages/create-acls.js';
import { DeleteAcls, type DeleteAclsResponse } from '../../../../src/protocol/messages/delete-acls.js';
import { DescribeAcls, type DescribeAclsResponse } from '../../../../src/protocol/messages/describe-acls.js';
import type { ApiSchema } from '../../../../src/protocol/messages/schema.js';
import { AclStore } from '../../../../src/security/authz/acl-store.js';
import { memoryAclPersistence } from '../../security/authz/acl-fixtures.js';
import { handleOverWire } from '../../../helpers/request-context.js';

const { TOPIC, GROUP, CLUSTER } = ResourceType;
const { LITERAL, PREFIXED } = PatternType;
const { ALLOW, DENY } = AclPermissionType;
const { READ, WRITE, ALTER } = AclOperation;

type Body = Record<string, unknown>;

/** The three ACL APIs' handlers, as the broker registers them. */
function aclHandlers(acls: AclStore, onChange?: AclChangeListener) {
  return [createAclsHandler(acls, onChange), describeAclsHandler(acls), deleteAclsHandler(acls, onChange)];
}

/**
 * The ACL handlers over an in-memory ACL store: each request is encoded at `version`, decoded as the
 * broker does, handled, and its response encoded and decoded again, as a client would see it.
 */
function harness() {
  const acls = new AclStore({ store: memoryAclPersistence() });
  const events: AclChangeEvent[] = [];
  const entries = aclHandlers(acls, (e) => events.push(e));
  const call = (api: ApiSchema, version: number, body: Body): Promise<Body> => handleOverWire(entries, api, version, body, { connectionId: 3, clientId: 'admin' });
  return { acls, events, call };
}

const creation = (over: Body = {}): Body => ({
  resourceType: TOPIC,
  resourceName: 'orders',
  resourcePatternType: LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: READ,
  permissionType: ALLOW,
  ...over,
});

const filter = (over: Body = {}): Body => ({
  resourceTypeFilter: ResourceType.ANY,
  resourceNameFilter: null,
  patternTypeFilter: PatternType.ANY,
  principalFilter: null,
  hostFilter: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
  ...over,
});

/** Every version our schemas declare (the same range for the three APIs). */
const VERSIONS = Array.from({ length: CreateAcls.maxVersion - CreateAcls.minVersion + 1 }, (_, i) => CreateAcls.minVersion + i);
assert.deepEqual([DescribeAcls.minVersion, DescribeAcls.maxVersion, DeleteAcls.minVersion, DeleteAcls.maxVersion], [CreateAcls.minVersion, CreateAcls.maxVersion, CreateAcls.minVersion, CreateAcls.maxVersion]);

describe('CreateAcls', () => {
  it('serves CreateAcls, DescribeAcls and DeleteAcls', () => {
    const entries = aclHandlers(new AclStore({ store: memoryAclPersistence() }));
    assert.deepEqual(entries.map((e) => e.api.name).sort(), ['CreateAcls', 'DeleteAcls', 'DescribeAcls']);
  });

  for (const version of VERSIONS) {
    it(`v${version}: answers per creation, in order, with INVALID_REQUEST and a reason for invalid ones`, async () => {
      const { acls, call } = harness();
      const response = (await call(CreateAcls, version, {
        creations: [
          creation(),
          creation({ principal: 'Group:ops' }),
          creation({ resourceType: CLUSTER, resourceName: 'other', operation: ALTER }),
          creation({ host: '10.0.0.0/8', permissionType: DENY, operation: WRITE }),
          creation({ operation: AclOperation.ANY }),
        ],
      })) as CreateAclsResponse;
      assert.deepEqual(response.results.map((r) => r.errorCode), [0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, 0, ErrorCode.INVALID_REQUEST]);
      assert.equal(response.results[0]?.errorMessage, null);
      assert.match(response.results[1]?.errorMessage ?? '', /principal/);
      assert.match(response.results[2]?.errorMessage ?? '', /kafka-cluster/);
      assert.equal(acls.bindings().length, 2);
    });
  }

  it('v0 carries no pattern type: its bindings are LITERAL; v1+ may create PREFIXED ones', async () => {
    const { acls, call } = harness();
    await call(CreateAcls, 0, { creations: [creation({ resourceName: 'v0-', resourcePatternType: PREFIXED })] });
    await call(CreateAcls, 1, { creations: [creation({ resourceName: 'v1-', resourcePatternType: PREFIXED })] });
    assert.deepEqual(acls.bindings().map((b) => [b.resourceName, b.patternType]), [['v0-', LITERAL], ['v1-', PREFIXED]]);
  });

  it('reports created bindings to onChange once, with the request context; duplicates and refusals are not changes', async () => {
    const { events, call } = harness();
    await call(CreateAcls, 2, { creations: [creation(), creation(), creation({ host: 'nowhere' })] });
    assert.equal(events.length, 1);
    const [event] = events;
    assert.ok(event !== undefined);
    assert.equal(event.action, 'create-acls');
    assert.deepEqual(event.bindings.map((b) => b.principal), ['User:alice']);
    assert.equal(event.context.connectionId, 3);
    assert.equal(event.context.header.clientId, 'admin');
    const again = (await call(CreateAcls, 2, { creations: [creation()] })) as CreateAclsResponse;
    assert.equal(again.results[0]?.errorCode, ErrorCode.NONE, 'creating an existing binding succeeds');
    assert.equal(events.length, 1, 'and is no change');
  });
});

describe('DescribeAcls', () => {
  async function seeded() {
    const h = harness();
    await h.call(CreateAcls, 1, {
      creations: [
        creation(),
        creation({ principal: 'User:bob', operation: WRITE }),
        creation({ resourceName: 'ord', resourcePatternType: PREFIXED, permissionType: DENY }),
        creation({ resourceType: GROUP, resourceName: 'billing' }),
      ],
    });
    return h;
  }

  for (const version of VERSIONS.filter((v) => v >= 1)) {
    it(`v${version}: groups entries by resource pattern, with the pattern type`, async () => {
      const { call } = await seeded();
      const response = (await call(DescribeAcls, version, filter())) as DescribeAclsResponse;
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.equal(response.errorMessage, null);
      const resources = [...response.resources].sort((a, b) => `${a.resourceType}${a.resourceName}`.localeCompare(`${b.resourceType}${b.resourceName}`));
      assert.deepEqual(
        resources.map((r) => ({ type: r.resourceType, name: r.resourceName, pattern: r.patternType, acls: r.acls.map((a) => `${a.principal}/${a.host}/${a.operation}/${a.permissionType}`).sort() })),
        [
          { type: TOPIC, name: 'ord', pattern: PREFIXED, acls: [`User:alice/*/${READ}/${DENY}`] },
          { type: TOPIC, name: 'orders', pattern: LITERAL, acls: [`User:alice/*/${READ}/${ALLOW}`, `User:bob/*/${WRITE}/${ALLOW}`] },
          { type: GROUP, name: 'billing', pattern: LITERAL, acls: [`User:alice/*/${READ}/${ALLOW}`] },
        ],
      );
    });
  }

  it('v0 filters are LITERAL: they see literal bindings only', async () => {
    const { call } = await seeded();
    const response = (await call(DescribeAcls, 0, filter())) as DescribeAclsResponse;
    assert.deepEqual(response.resources.map((r) => r.resourceName).sort(), ['billing', 'orders']);
  });

  it('MATCH finds what applies to a name', async () => {
    const { call } = await seeded();
    const response = (await call(DescribeAcls, 2, filter({ resourceTypeFilter: TOPIC, resourceNameFilter: 'orders-eu', patternTypeFilter: PatternType.MATCH }))) as DescribeAclsResponse;
    assert.deepEqual(response.resources.map((r) => `${r.resourceName}:${r.patternType}`), [`ord:${PREFIXED}`]);
  });

  it('answers INVALID_REQUEST for a filter with an UNKNOWN code', async () => {
    const { call } = await seeded();
    const response = (await call(DescribeAcls, 1, filter({ operation: AclOperation.UNKNOWN }))) as DescribeAclsResponse;
    assert.equal(response.errorCode, ErrorCode.INVALID_REQUEST);
    assert.ok((response.errorMessage ?? '').length > 0);
    assert.deepEqual(response.resources, []);
  });
});

describe('DeleteAcls', () => {
  for (const version of VERSIONS) {
    it(`v${version}: answers per filter with the bindings it removed`, async () => {
      const { acls, call } = harness();
      await call(CreateAcls, 1, { creations: [creation(), creation({ principal: 'User:bob' }), creation({ resourceType: GROUP, resourceName: 'g' })] });
      const response = (await call(DeleteAcls, version, {
        filters: [filter({ resourceTypeFilter: TOPIC, principalFilter: 'User:bob' }), filter({ permissionType: 0 }), filter({ resourceNameFilter: 'none' })],
      })) as DeleteAclsResponse;
      assert.deepEqual(response.filterResults.map((r) => r.errorCode), [0, ErrorCode.INVALID_REQUEST, 0]);
      const removed = response.filterResults[0]?.matchingAcls ?? [];
      assert.equal(removed.length, 1);
      assert.deepEqual(
        { ...removed[0], patternType: removed[0]?.patternType ?? LITERAL },
        { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: 'orders', patternType: LITERAL, principal: 'User:bob', host: '*', operation: READ, permissionType: ALLOW },
      );
      assert.deepEqual(response.filterResults[2]?.matchingAcls, []);
      assert.deepEqual(acls.bindings().map((b) => b.principal).sort(), ['User:alice', 'User:alice']);
    });
  }

  it('v0 filters are LITERAL: they leave PREFIXED bindings alone; v1 with ANY removes them', async () => {
    const { acls, call } = harness();
    await call(CreateAcls, 1, { creations: [creation({ resourceName: 'p-', resourcePatternType: PREFIXED }), creation()] });
    const v0 = (await call(DeleteAcls, 0, { filters: [filter()] })) as DeleteAclsResponse;
    assert.deepEqual(v0.filterResults[0]?.matchingAcls.map((a) => a.resourceName), ['orders']);
    assert.deepEqual(acls.bindings().map((b) => b.resourceName), ['p-']);
    const v1 = (await call(DeleteAcls, 1, { filters: [filter()] })) as DeleteAclsResponse;
    assert.deepEqual(v1.filterResults[0]?.matchingAcls.map((a) => [a.resourceName, a.patternType]), [['p-', PREFIXED]]);
    assert.equal(acls.bindings().length, 0);
  });

  it('reports deleted bindings to onChange once, even when two filters matched them; nothing when nothing was deleted', async () => {
    const { events, call } = harness();
    await call(CreateAcls, 2, { creations: [creation()] });
    events.length = 0;
    await call(DeleteAcls, 2, { filters: [filter({ resourceNameFilter: 'nothing' })] });
    assert.equal(events.length, 0);
    const response = (await call(DeleteAcls, 2, { filters: [filter(), filter({ principalFilter: 'User:alice' })] })) as DeleteAclsResponse;
    assert.deepEqual(response.filterResults.map((r) => r.matchingAcls.length), [1, 1]);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.ok(event !== undefined);
    assert.equal(event.action, 'delete-acls');
    assert.equal(event.bindings.length, 1);
  });
});
