import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { AlterConfigs } from '../../../../src/protocol/messages/alter-configs.js';
import { AlterUserScramCredentials } from '../../../../src/protocol/messages/alter-user-scram-credentials.js';
import { CreateAcls } from '../../../../src/protocol/messages/create-acls.js';
import { CreatePartitions } from '../../../../src/protocol/messages/create-partitions.js';
import { CreateTopics, type CreateTopicsRequest, type CreateTopicsResponse } from '../../../../src/protocol/messages/create-topics.js';
import { DeleteAcls } from '../../../../src/protocol/messages/delete-acls.js';
import { DeleteTopics, type DeleteTopicsRequest, type DeleteTopicsResponse } from '../../../../src/protocol/messages/delete-topics.js';
import { DescribeAcls } from '../../../../src/protocol/messages/describe-acls.js';
import { DescribeCluster } from '../../../../src/protocol/messages/describe-cluster.js';
import { DescribeConfigs, type DescribeConfigsRequest, type DescribeConfigsResponse } from '../../../../src/protocol/messages/describe-configs.js';
import { DescribeUserScramCredentials } from '../../../../src/protocol/messages/describe-user-scram-credentials.js';
import { IncrementalAlterConfigs } from '../../../../src/protocol/messages/incremental-alter-configs.js';
import { authorizeRequest } from '../../../../src/security/authz/policies/index.js';
import { decoded, grants, list, serve, versionsOf, wire } from './policies-helpers.js';

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const ID = '0a0b0c0d-0000-4000-8000-000000000001';
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

// ---- Topics ----

const createTopicsRequest = (version: number, names: string[]): CreateTopicsRequest =>
  decoded(CreateTopics, version, {
    topics: names.map((name) => ({ name, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] })),
    timeoutMs: 1000,
    validateOnly: false,
  });

const createTopicsHandler = (body: CreateTopicsRequest): CreateTopicsResponse => ({
  throttleTimeMs: 0,
  topics: body.topics.map((t) => ({ name: t.name, topicId: ID, errorCode: 0, errorMessage: null, numPartitions: t.numPartitions, replicationFactor: 1, configs: [] })),
});

describe('topic administration policies', () => {
  it('CreateTopics: CREATE on the cluster allows every topic without per-topic checks', () => {
    const check = grants('CREATE:CLUSTER:kafka-cluster');
    const body = createTopicsRequest(7, ['a', 'b']);
    const outcome = authorizeRequest(CreateTopics.apiKey, body, 7, check);
    assert.equal(outcome.kind === 'forward' ? outcome.body : null, body);
    assert.deepEqual(check.asked, ['CREATE:CLUSTER:kafka-cluster (quiet)']);
  });

  it('CreateTopics: otherwise CREATE per topic, 29 for the others, at every version', () => {
    for (const version of versionsOf(CreateTopics)) {
      const check = grants('CREATE:TOPIC:b');
      const { forwarded, response } = serve(CreateTopics, version, createTopicsRequest(version, ['a', 'b']), check, createTopicsHandler);
      assert.deepEqual(forwarded?.topics.map((t) => t.name), ['b']);
      assert.deepEqual(forwarded.topics[0]?.configs, [{ name: 'retention.ms', value: '1000' }]);
      const topics = list(wire(CreateTopics, version, response).topics);
      assert.deepEqual(topics.map((t) => [t.name, t.errorCode]), [['a', TOPIC_DENIED], ['b', 0]]);
      if (version >= 5) assert.deepEqual([topics[0]?.numPartitions, topics[0]?.replicationFactor], [-1, -1]);
      if (version >= 7) assert.equal(topics[0]?.topicId, ZERO_UUID);
      assert.ok(check.asked.includes('CREATE:TOPIC:a'), 'per-topic denials are audited');
    }
  });

  it('DeleteTopics v0-5: DELETE per named topic', () => {
    for (const version of versionsOf(DeleteTopics).filter((v) => v < 6)) {
      const body = decoded(DeleteTopics, version, { topicNames: ['keep', 'gone'], timeoutMs: 1000 });
      const { forwarded, response } = serve(DeleteTopics, version, body, grants('DELETE:TOPIC:gone'), (f: DeleteTopicsRequest): DeleteTopicsResponse => ({
        throttleTimeMs: 0,
        responses: (f.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID, errorCode: 0, errorMessage: null })),
      }));
      assert.deepEqual(forwarded?.topicNames, ['gone']);
      assert.deepEqual(list(wire(DeleteTopics, version, response).responses).map((r) => [r.name, r.errorCode]), [['keep', TOPIC_DENIED], ['gone', 0]]);
    }
  });

  it('DeleteTopics v6: by name per topic; a topic id alone only with DELETE on the cluster', () => {
    const body = decoded(DeleteTopics, 6, { topics: [{ name: null, topicId: ID }, { name: 'gone', topicId: ZERO_UUID }], timeoutMs: 1000 });
    const handler = (f: DeleteTopicsRequest): DeleteTopicsResponse => ({
      throttleTimeMs: 0,
      responses: (f.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId ?? ZERO_UUID, errorCode: 0, errorMessage: null })),
    });
    const user = serve(DeleteTopics, 6, body, grants('DELETE:TOPIC:gone'), handler);
    assert.deepEqual(list(wire(DeleteTopics, 6, user.response).responses).map((r) => [r.name, r.topicId, r.errorCode]), [[null, ID, TOPIC_DENIED], ['gone', ZERO_UUID, 0]]);
    const admin = authorizeRequest(DeleteTopics.apiKey, body, 6, grants('DELETE:CLUSTER:kafka-cluster', 'DELETE:TOPIC:gone'));
    assert.equal(admin.kind === 'forward' ? admin.body : null, body);
    const none = serve(DeleteTopics, 6, body, grants());
    assert.equal(none.outcome.kind, 'respond');
    wire(DeleteTopics, 6, none.response);
  });

  it('CreatePartitions: ALTER per topic, 29 for the others, at every version', () => {
    for (const version of versionsOf(CreatePartitions)) {
      const body = decoded(CreatePartitions, version, { topics: [{ name: 'a', count: 4, assignments: null }, { name: 'b', count: 4, assignments: null }], timeoutMs: 1, validateOnly: false });
      const { forwarded, response } = serve(CreatePartitions, version, body, grants('ALTER:TOPIC:a'), (f) => ({
        throttleTimeMs: 0,
        results: f.topics.map((t) => ({ name: t.name, errorCode: 0, errorMessage: null })),
      }));
      assert.deepEqual(forwarded?.topics.map((t) => t.name), ['a']);
      assert.deepEqual(list(wire(CreatePartitions, version, response).results).map((r) => [r.name, r.errorCode]), [['a', 0], ['b', TOPIC_DENIED]]);
    }
  });
});

// ---- Configs ----

const RESOURCES = [
  { resourceType: 2, resourceName: 'open' },
  { resourceType: 2, resourceName: 'closed' },
  { resourceType: 4, resourceName: '1' },
  { resourceType: 32, resourceName: 'grp' },
  { resourceType: 99, resourceName: 'what' },
];

const describeConfigsHandler = (body: DescribeConfigsRequest): DescribeConfigsResponse => ({
  throttleTimeMs: 0,
  results: body.resources.map((r) => ({ errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })),
});

describe('config policies', () => {
  it('DescribeConfigs: topics 29, the broker 31 (checked on the cluster), groups 30, unknown types 42', () => {
    for (const version of versionsOf(DescribeConfigs)) {
      const body = decoded(DescribeConfigs, version, { resources: RESOURCES.map((r) => ({ ...r, configurationKeys: null })), includeSynonyms: false, includeDocumentation: false });
      const check = grants('DESCRIBE_CONFIGS:TOPIC:open');
      const { forwarded, response } = serve(DescribeConfigs, version, body, check, describeConfigsHandler);
      assert.deepEqual(forwarded?.resources.map((r) => r.resourceName), ['open']);
      assert.deepEqual(
        list(wire(DescribeConfigs, version, response).results).map((r) => [r.resourceType, r.resourceName, r.errorCode]),
        [[2, 'open', 0], [2, 'closed', TOPIC_DENIED], [4, '1', CLUSTER_DENIED], [32, 'grp', ErrorCode.GROUP_AUTHORIZATION_FAILED], [99, 'what', ErrorCode.INVALID_REQUEST]],
      );
      assert.ok(check.asked.includes('DESCRIBE_CONFIGS:CLUSTER:kafka-cluster'));
      assert.ok(!check.asked.some((q) => q.includes('what')), 'an unknown resource type is not looked up');
    }
    const broker = decoded(DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    const allowed = authorizeRequest(DescribeConfigs.apiKey, broker, 4, grants('DESCRIBE_CONFIGS:CLUSTER:kafka-cluster'));
    assert.equal(allowed.kind === 'forward' ? allowed.body : null, broker);
  });

  it('AlterConfigs and IncrementalAlterConfigs: ALTER_CONFIGS on what each resource names', () => {
    for (const api of [AlterConfigs, IncrementalAlterConfigs]) {
      for (const version of versionsOf(api)) {
        const body = decoded(api, version, { resources: RESOURCES.map((r) => ({ ...r, configs: [{ name: 'x', configOperation: 0, value: 'y' }] })), validateOnly: false });
        const check = grants('ALTER_CONFIGS:TOPIC:open', 'ALTER_CONFIGS:CLUSTER:kafka-cluster', 'DESCRIBE_CONFIGS:TOPIC:closed');
        const outcome = authorizeRequest(api.apiKey, body, version, check);
        assert.equal(outcome.kind, 'forward');
        const forwarded = outcome.body as typeof body;
        assert.deepEqual(forwarded.resources.map((r) => r.resourceName), ['open', '1']);
        const handled = { throttleTimeMs: 0, responses: forwarded.resources.map((r) => ({ errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
        const response = outcome.finish === undefined ? handled : outcome.finish(handled as never);
        assert.deepEqual(
          list(wire(api, version, response).responses).map((r) => [r.resourceName, r.errorCode]),
          [['open', 0], ['closed', TOPIC_DENIED], ['1', 0], ['grp', ErrorCode.GROUP_AUTHORIZATION_FAILED], ['what', ErrorCode.INVALID_REQUEST]],
        );
        const none = authorizeRequest(api.apiKey, body, version, grants());
        assert.equal(none.kind, 'respond', `${api.name} v${version}`);
        assert.equal(list(wire(api, version, none.response).responses).length, RESOURCES.length);
      }
    }
  });
});

// ---- DescribeCluster, ACLs, SCRAM ----

describe('cluster administration policies', () => {
  it('DescribeCluster: forwarded without any check', () => {
    const check = grants();
    const body = decoded(DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    const outcome = authorizeRequest(DescribeCluster.apiKey, body, 1, check);
    assert.equal(outcome.kind === 'forward' ? outcome.body : null, body);
    assert.deepEqual(check.asked, []);
  });

  it('CreateAcls and DeleteAcls: ALTER on the cluster, else 31 for each creation or filter, at every version', () => {
    const creation = { resourceType: 2, resourceName: 't', resourcePatternType: 3, principal: 'User:bob', host: '*', operation: 3, permissionType: 3 };
    const filter = { resourceTypeFilter: 2, resourceNameFilter: 't', patternTypeFilter: 3, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 };
    for (const version of versionsOf(CreateAcls)) {
      const create = decoded(CreateAcls, version, { creations: [creation, creation] });
      const ok = authorizeRequest(CreateAcls.apiKey, create, version, grants('ALTER:CLUSTER:kafka-cluster'));
      assert.equal(ok.kind === 'forward' ? ok.body : null, create);
      const { response } = serve(CreateAcls, version, create, grants('DESCRIBE:CLUSTER:kafka-cluster'));
      assert.deepEqual(list(wire(CreateAcls, version, response).results).map((r) => r.errorCode), [CLUSTER_DENIED, CLUSTER_DENIED]);
    }
    for (const version of versionsOf(DeleteAcls)) {
      const del = decoded(DeleteAcls, version, { filters: [filter] });
      assert.equal(authorizeRequest(DeleteAcls.apiKey, del, version, grants('ALTER:CLUSTER:kafka-cluster')).kind, 'forward');
      const { response } = serve(DeleteAcls, version, del, grants());
      assert.deepEqual(list(wire(DeleteAcls, version, response).filterResults).map((r) => [r.errorCode, r.matchingAcls]), [[CLUSTER_DENIED, []]]);
    }
  });

  it('DescribeAcls: DESCRIBE on the cluster, else 31 and no bindings, at every version', () => {
    for (const version of versionsOf(DescribeAcls)) {
      const body = decoded(DescribeAcls, version, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 });
      assert.equal(authorizeRequest(DescribeAcls.apiKey, body, version, grants('DESCRIBE:CLUSTER:kafka-cluster')).kind, 'forward');
      const { outcome, response } = serve(DescribeAcls, version, body, grants('ALTER:TOPIC:x'));
      assert.equal(outcome.kind, 'respond');
      const w = wire(DescribeAcls, version, response);
      assert.deepEqual([w.errorCode, w.resources], [CLUSTER_DENIED, []]);
    }
  });

  it('DescribeUserScramCredentials: DESCRIBE on the cluster, else 31 at the top level', () => {
    const body = decoded(DescribeUserScramCredentials, 0, { users: [{ name: 'alice' }] });
    assert.equal(authorizeRequest(DescribeUserScramCredentials.apiKey, body, 0, grants('DESCRIBE:CLUSTER:kafka-cluster')).kind, 'forward');
    const { response } = serve(DescribeUserScramCredentials, 0, body, grants());
    const w = wire(DescribeUserScramCredentials, 0, response);
    assert.deepEqual([w.errorCode, w.results], [CLUSTER_DENIED, []]);
  });

  it('AlterUserScramCredentials: ALTER on the cluster, else 31 once per user, sorted', () => {
    const upsertion = (name: string) => ({ name, mechanism: 1, iterations: 4096, salt: Buffer.from('salt'), saltedPassword: Buffer.alloc(32) });
    const body = decoded(AlterUserScramCredentials, 0, { deletions: [{ name: 'zed', mechanism: 2 }], upsertions: [upsertion('bob'), upsertion('zed')] });
    assert.equal(authorizeRequest(AlterUserScramCredentials.apiKey, body, 0, grants('ALTER:CLUSTER:kafka-cluster')).kind, 'forward');
    const { response } = serve(AlterUserScramCredentials, 0, body, grants('DESCRIBE:CLUSTER:kafka-cluster'));
    assert.deepEqual(list(wire(AlterUserScramCredentials, 0, response).results).map((r) => [r.user, r.errorCode]), [['bob', CLUSTER_DENIED], ['zed', CLUSTER_DENIED]]);
  });
});
