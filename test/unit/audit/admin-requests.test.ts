import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminChanges, AUDIT_UNAVAILABLE_MESSAGE, isAdminApi, refusedAdminResponse } from '../../../src/audit/admin-requests.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { encodeResponse } from '../../../src/protocol/frames.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import { CreateTopics } from '../../../src/protocol/messages/create-topics.js';
import { IncrementalAlterConfigs } from '../../../src/protocol/messages/incremental-alter-configs.js';
import { Produce } from '../../../src/protocol/messages/produce.js';

const REQUESTS: Record<string, Record<string, unknown>> = {
  CreateTopics: { topics: [{ name: 'a', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1, validateOnly: false },
  DeleteTopics: { topicNames: ['a'], topics: [{ name: 'a', topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 1 },
  CreatePartitions: { topics: [{ name: 'a', count: 3, assignments: null }], timeoutMs: 1, validateOnly: false },
  AlterConfigs: { resources: [{ resourceType: 2, resourceName: 'a', configs: [{ name: 'retention.ms', value: '1' }] }], validateOnly: false },
  IncrementalAlterConfigs: { resources: [{ resourceType: 2, resourceName: 'a', configs: [{ name: 'retention.ms', configOperation: 0, value: '1' }] }], validateOnly: false },
  DeleteGroups: { groupsNames: ['g'] },
  CreateAcls: { creations: [{ resourceType: 2, resourceName: 'a', resourcePatternType: 3, principal: 'User:x', host: '*', operation: 3, permissionType: 3 }] },
  DeleteAcls: { filters: [{ resourceTypeFilter: 2, resourceNameFilter: 'a', patternTypeFilter: 3, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] },
  AlterUserScramCredentials: { deletions: [{ name: 'u', mechanism: 1 }], upsertions: [] },
  AlterClientQuotas: { entries: [{ entity: [{ entityType: 'user', entityName: 'u' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }], validateOnly: false },
};

describe('admin requests and the audit trail', () => {
  it('refuses every admin API with POLICY_VIOLATION and the reason, in a response every version encodes', () => {
    const admin = ALL_APIS.filter((api) => isAdminApi(api.apiKey));
    assert.deepEqual(admin.map((a) => a.name).sort(), Object.keys(REQUESTS).sort());
    for (const api of admin) {
      const response = refusedAdminResponse(api.apiKey, REQUESTS[api.name] as Record<string, unknown>) as Record<string, unknown>;
      const entries = Object.values(response).find(Array.isArray) as Record<string, unknown>[];
      assert.ok(entries.length >= 1, api.name);
      for (const e of entries) {
        assert.equal(e.errorCode, ErrorCode.POLICY_VIOLATION, api.name);
        if ('errorMessage' in e) assert.equal(e.errorMessage, AUDIT_UNAVAILABLE_MESSAGE);
      }
      for (let v = api.minVersion; v <= api.maxVersion; v++) encodeResponse(api, v, 1, response);
    }
    assert.equal(isAdminApi(Produce.apiKey), false, 'data traffic is never refused for the audit trail');
  });

  it('reads each change and its outcome from the request and its response', () => {
    const changes = adminChanges(
      CreateTopics.apiKey,
      { topics: [{ name: 'a', numPartitions: 2, configs: [{ name: 'retention.ms', value: '5' }] }, { name: 'b', numPartitions: 1, configs: [] }], validateOnly: false },
      { topics: [{ name: 'a', errorCode: 0 }, { name: 'b', errorCode: ErrorCode.TOPIC_ALREADY_EXISTS }] },
    );
    assert.deepEqual(changes, [
      { action: 'create-topics', resource: { type: 'topic', name: 'a' }, detail: { partitions: 2, configs: { 'retention.ms': '5' } } },
      { action: 'create-topics', resource: { type: 'topic', name: 'b' }, detail: { partitions: 1, configs: {} }, error: 'TOPIC_ALREADY_EXISTS' },
    ]);
    assert.deepEqual(adminChanges(CreateTopics.apiKey, { topics: [{ name: 'a' }], validateOnly: true }, { topics: [] }), [], 'validate-only changes nothing');
  });

  it('never copies a secret-looking config value, and names incremental operations', () => {
    const [change] = adminChanges(
      IncrementalAlterConfigs.apiKey,
      { resources: [{ resourceType: 4, resourceName: '0', configs: [{ name: 'ssl.key.password', configOperation: 0, value: 'hunter2' }, { name: 'cleanup.policy', configOperation: 2, value: 'compact' }] }] },
      { responses: [{ resourceType: 4, resourceName: '0', errorCode: 0 }] },
    );
    assert.deepEqual(change?.detail, { configs: { 'ssl.key.password': '[hidden]', 'cleanup.policy': 'append compact' } });
    assert.doesNotMatch(JSON.stringify(change), /hunter2/);
    assert.deepEqual(change.resource, { type: 'broker config', name: '0' });
  });
});
