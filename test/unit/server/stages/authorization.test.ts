import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRequest } from '../../../../src/protocol/frames.js';
import { Heartbeat } from '../../../../src/protocol/messages/heartbeat.js';
import { authorization } from '../../../../src/server/stages/authorization.js';
import type { Stage, StageRequest, StageStep } from '../../../../src/server/stages/stage.js';
import type { SecurityEvent } from '../../../../src/security/events.js';
import type { AuthorizationRequest, Principal } from '../../../../src/security/types.js';
import { testRequestContext } from '../../../helpers/request-context.js';
import { requestFrame } from '../pipeline-support.js';

function heartbeat(groupId: string, principal: Principal | null): StageRequest {
  const decoded = decodeRequest(requestFrame(Heartbeat, 4, { groupId, generationId: 1, memberId: 'm', groupInstanceId: null }));
  assert.equal(decoded.kind, 'request');
  const { api, header, body } = decoded;
  return { api, header, body, context: testRequestContext({ header, listener: { host: 'b', port: 1 }, connectionId: 3, clientHost: '/10.9.8.7', principal }) };
}

/** The stage's decision, which it takes synchronously. */
function decide(stage: Stage, request: StageRequest): StageStep {
  const step = stage.before?.(request);
  assert.ok(!(step instanceof Promise));
  return step;
}

describe('the authorization stage', () => {
  it('asks the authorizer for the request’s principal from the connection’s address, and answers with the policy’s denial', () => {
    const asked: AuthorizationRequest[] = [];
    const events: SecurityEvent[] = [];
    const stage = authorization({ authorize: (r) => (asked.push(r), false), authorizeAny: () => false }, { emit: (e) => events.push(e) })({ id: 3, remote: '10.9.8.7:1234', clientIp: '10.9.8.7' });
    const step = decide(stage, heartbeat('payments', 'User:bob'));
    assert.deepEqual(step, { kind: 'respond', response: { throttleTimeMs: 0, errorCode: 30 } });
    assert.deepEqual(asked.map((r) => [r.principal, r.host, r.resourceName]), [['User:bob', '10.9.8.7', 'payments']]);
    assert.deepEqual(events, [
      { type: 'authorization-denied', connection: 3, remote: '10.9.8.7:1234', principal: 'User:bob', api: 'Heartbeat', resources: ['READ GROUP:payments'] },
    ]);
  });

  it('reports the same denial on a connection at most once a second; another denial at once', () => {
    const events: SecurityEvent[] = [];
    const stage = authorization({ authorize: () => false, authorizeAny: () => false }, { emit: (e) => events.push(e) })({ id: 3, remote: 'r', clientIp: 'ip' });
    for (const group of ['a', 'a', 'a', 'b']) decide(stage, heartbeat(group, 'User:bob'));
    assert.deepEqual(events.map((e) => (e as { resources?: readonly string[] }).resources), [['READ GROUP:a'], ['READ GROUP:b']]);
  });

  it('passes a request without a principal on untouched: only the APIs the gate lets through before authentication come so far', () => {
    const stage = authorization({ authorize: () => assert.fail('asked'), authorizeAny: () => assert.fail('asked') }, { emit: () => assert.fail('reported') })({ id: 1, remote: 'r', clientIp: 'ip' });
    assert.equal(decide(stage, heartbeat('a', null)), undefined);
  });
});
