import assert from 'node:assert/strict';
import { TEST_AUDIT, TEST_ENCRYPTION_AT_REST } from '../../helpers/test-keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerDeps } from '../../../src/broker/broker.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { entryOf, errorEntry, errorResponse } from '../../../src/protocol/error-responses.js';
import { decodeResponse, encodeRequest } from '../../../src/protocol/frames.js';
import { ApiVersions } from '../../../src/protocol/messages/api-versions.js';
import { CreateTopics, type CreateTopicsRequest } from '../../../src/protocol/messages/create-topics.js';
import { Metadata } from '../../../src/protocol/messages/metadata.js';
import { Produce } from '../../../src/protocol/messages/produce.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import { CloseReasons } from '../../../src/close-reasons.js';
import type { InjectOptions } from '../../../src/server/listener.js';
import type { Stage } from '../../../src/server/stages/stage.js';
import { INSECURE_DEV_SECURITY } from '../../../src/security/config.js';
import { recordingLogger } from '../../helpers/broker.js';
import { RawConnection } from '../../helpers/raw-client.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';

/** A plaintext broker whose only super user is User:ANONYMOUS (INSECURE_DEV_SECURITY): anyone else is denied. */
async function broker(t: TestContext, deps: BrokerDeps = {}, options: { start?: boolean } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'parapet-broker-test-'));
  const b = new Broker({ ...DEFAULT_BROKER_CONFIG, listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' }, security: INSECURE_DEV_SECURITY, encryptionAtRest: TEST_ENCRYPTION_AT_REST, audit: TEST_AUDIT, dataDir, adminEndpoint: TEST_ADMIN_ENDPOINT }, recordingLogger(), {
    events: { emit: () => undefined },
    ...deps,
  });
  const port = options.start === true ? (await b.start()).port : undefined;
  t.after(async () => {
    await b.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { broker: b, port };
}

const frameOf = (api: ApiSchema, version: number, body: object) => Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: 9, clientId: 'inject-test' }, body));

/** Injects a request and decodes its answer. */
async function inject(b: Broker, api: ApiSchema, version: number, body: object, options: InjectOptions = {}) {
  const result = await b.inject(frameOf(api, version, body), options);
  return { ...result, body: result.frame === null ? null : decodeResponse(api, version, result.frame.subarray(4)).body };
}

const topic = (name: string, numPartitions: number): CreateTopicsRequest['topics'][number] => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });

describe('Broker.inject: a request frame through the whole pipeline, without a socket', () => {
  it('a Produce its principal may not write answers 29 for every partition it names, and writes nothing', async (t) => {
    const { broker: b } = await broker(t);
    const created = await inject(b, CreateTopics, 7, { topics: [topic('orders', 2), topic('audit', 1)], timeoutMs: 1000, validateOnly: false });
    assert.deepEqual((created.body?.topics as { errorCode: number }[]).map((x) => x.errorCode), [0, 0]);

    const produce = {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [
        { name: 'orders', partitionData: [{ index: 0, records: Buffer.from('not even a batch') }, { index: 1, records: null }] },
        { name: 'audit', partitionData: [{ index: 0, records: null }] },
      ],
    };
    const denied = await inject(b, Produce, 9, produce, { principal: 'User:mallory', host: '192.0.2.7' });
    assert.equal(denied.closed, undefined);
    const partitions = (denied.body?.responses as { name: string; partitionResponses: { index: number; errorCode: number; baseOffset: bigint; errorMessage: string }[] }[]).flatMap((r) =>
      r.partitionResponses.map((p) => [r.name, p.index, p.errorCode, p.baseOffset]),
    );
    assert.deepEqual(partitions, [
      ['orders', 0, 29, -1n],
      ['orders', 1, 29, -1n],
      ['audit', 0, 29, -1n],
    ]);

    // The super user's Produce reaches the handler, which refuses the bytes that are no batch.
    const allowed = await inject(b, Produce, 9, produce);
    const codes = (allowed.body?.responses as { partitionResponses: { errorCode: number }[] }[]).flatMap((r) => r.partitionResponses.map((p) => p.errorCode));
    assert.ok(!codes.includes(29), `not denied: ${codes.join(',')}`);
  });

  it('an API version this broker does not serve closes the connection unanswered; ApiVersions gets the KIP-511 answer', async (t) => {
    const { broker: b } = await broker(t);
    const frame = frameOf(Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    frame.writeInt16BE(99, 6); // after the size prefix and the API key: the version
    const unknown = await b.inject(frame);
    assert.equal(unknown.frame, null);
    assert.equal(unknown.closed?.reason, CloseReasons.UNSUPPORTED_API);
    assert.match(String(unknown.closed.error), /Metadata v99 is not supported/);

    const versions = frameOf(ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    versions.writeInt16BE(99, 6);
    const fallback = await b.inject(versions);
    assert.ok(fallback.frame !== null);
    assert.equal(decodeResponse(ApiVersions, 0, fallback.frame.subarray(4)).body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  });

  it('a connection that has not authenticated may ask ApiVersions, and is closed for anything else', async (t) => {
    const { broker: b } = await broker(t);
    const versions = await inject(b, ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }, { principal: null });
    assert.equal(versions.body?.errorCode, 0);
    const metadata = await inject(b, Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, { principal: null });
    assert.deepEqual([metadata.frame, metadata.closed?.reason], [null, CloseReasons.UNAUTHENTICATED_REQUEST]);
  });
});

describe('extra stages (BrokerDeps.stages) on real requests', () => {
  it('a stage that counts requests per API sees what authorization let through, over a socket and through inject', async (t) => {
    const counts = new Map<string, number>();
    const counting: Stage = {
      name: 'count-per-api',
      before: ({ api }) => {
        counts.set(api.name, (counts.get(api.name) ?? 0) + 1);
        return undefined;
      },
    };
    const { broker: b, port } = await broker(t, { stages: [() => counting] }, { start: true });
    const client = await RawConnection.connect(port ?? 0);
    t.after(() => {
      client.close();
    });
    await client.request(ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    await client.request(Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    await inject(b, Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    // Denied whole by its policy before the extra stage: not counted.
    await inject(b, CreateTopics, 7, { topics: [topic('t', 1)], timeoutMs: 1000, validateOnly: false }, { principal: 'User:mallory' });
    assert.deepEqual(Object.fromEntries(counts), { ApiVersions: 1, Metadata: 2 });
  });

  it('a stage that refuses one API answers for it, with the error answers the schema gives, and the handler never runs', async (t) => {
    const refused = entryOf(CreateTopics.response.fields.topics);
    const noNewTopics: Stage = {
      name: 'no-new-topics',
      before: ({ api, body }) => {
        if (api.apiKey !== CreateTopics.apiKey) return undefined;
        const topics = (body as CreateTopicsRequest).topics.map((x) => errorEntry(refused, ErrorCode.POLICY_VIOLATION, { name: x.name, errorMessage: 'no new topics today' }));
        return { kind: 'respond', response: errorResponse(CreateTopics, ErrorCode.POLICY_VIOLATION, { topics }) };
      },
    };
    const { broker: b, port } = await broker(t, { stages: [() => noNewTopics] }, { start: true });
    const client = await RawConnection.connect(port ?? 0);
    t.after(() => {
      client.close();
    });
    const answer = await client.request(CreateTopics, 7, { topics: [topic('orders', 1)], timeoutMs: 1000, validateOnly: false });
    assert.deepEqual((answer.topics as { name: string; errorCode: number; errorMessage: string }[]).map((x) => [x.name, x.errorCode, x.errorMessage]), [
      ['orders', ErrorCode.POLICY_VIOLATION, 'no new topics today'],
    ]);
    const metadata = await inject(b, Metadata, 9, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    assert.equal((metadata.body?.topics as { errorCode: number }[])[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'not created');
  });
});
