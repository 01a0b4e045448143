import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataAccessLedger } from '../../../../src/audit/data-access.js';
import { decodeRequest } from '../../../../src/protocol/frames.js';
import { CreateTopics } from '../../../../src/protocol/messages/create-topics.js';
import { auditStage } from '../../../../src/server/stages/audit.js';
import type { StageRequest } from '../../../../src/server/stages/stage.js';
import type { SecurityEvent } from '../../../../src/security/events.js';
import { testRequestContext } from '../../../helpers/request-context.js';
import { requestFrame } from '../pipeline-support.js';

function createTopic(name: string): StageRequest {
  const body = { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false };
  const decoded = decodeRequest(requestFrame(CreateTopics, 5, body));
  assert.equal(decoded.kind, 'request');
  const { api, header } = decoded;
  return { api, header, body: decoded.body, context: testRequestContext({ header, listener: { host: 'b', port: 1 }, connectionId: 3, clientHost: '10.9.8.7', principal: 'User:admin' }) };
}

const answer = { throttleTimeMs: 0, topics: [{ name: 'orders', topicId: Buffer.alloc(16), errorCode: 0, errorMessage: null, numPartitions: 1, replicationFactor: 1, configs: [] }] };

function stageWith(durable: () => Promise<void>, durableWaitMs: number, events: SecurityEvent[] = []) {
  const deps = { events: { emit: (e: SecurityEvent) => events.push(e) }, access: new DataAccessLedger({ events: { emit: () => undefined } }), refuseUnaudited: () => false, durable, durableWaitMs };
  return auditStage(deps)({ id: 3, remote: '10.9.8.7:1', clientIp: '10.9.8.7' });
}

describe('the audit stage', () => {
  it('answers an admin change once its record is durable, and records the change', async () => {
    const events: SecurityEvent[] = [];
    let flushed = false;
    const stage = stageWith(async () => {
      await new Promise((r) => setTimeout(r, 20));
      flushed = true;
    }, 5000, events);
    const response = await stage.after?.(createTopic('orders'), answer);
    assert.equal(flushed, true);
    assert.equal(response, answer);
    assert.deepEqual(events.map((e) => e.type), ['admin-change']);
  });

  it('answers after the bounded wait when the record never becomes durable (a hung disk cannot hang the admin)', async () => {
    const stage = stageWith(() => new Promise<void>(() => undefined), 50);
    const started = Date.now();
    const response = await stage.after?.(createTopic('orders'), answer);
    const waited = Date.now() - started;
    assert.equal(response, answer);
    assert.ok(waited >= 45 && waited < 2000, `waited ${waited} ms`);
  });

  it('answers when the write fails (the change was made; the next ones are refused)', async () => {
    const stage = stageWith(() => Promise.reject(new Error('EIO')), 5000);
    assert.equal(await stage.after?.(createTopic('orders'), answer), answer);
  });
});
