import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFault } from '../../../src/errors.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { ApiVersions } from '../../../src/protocol/messages/api-versions.js';
import { Heartbeat } from '../../../src/protocol/messages/heartbeat.js';
import { ListGroups } from '../../../src/protocol/messages/list-groups.js';
import { SaslHandshake } from '../../../src/protocol/messages/sasl-handshake.js';
import { CloseReasons } from '../../../src/close-reasons.js';
import { requestStages } from '../../../src/server/dispatcher.js';
import { handler, type HandlerEntry } from '../../../src/server/handler.js';
import { saslAuthenticateHandler } from '../../../src/broker/handlers/sasl-authenticate.js';
import { saslHandshakeHandler } from '../../../src/broker/handlers/sasl-handshake.js';
import type { Stage, StageFactory } from '../../../src/server/stages/stage.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import { fakeControl, requestFrame, responseBody, testDispatcher } from './pipeline-support.js';

const HEARTBEAT = { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null };

/** A Heartbeat handler that records what it was given and answers `errorCode` (as the group id says, when numeric). */
function heartbeatHandler(log: string[], options: { releasesFrame?: boolean; answer?: 'none' } = {}): HandlerEntry {
  return handler(
    Heartbeat,
    (body) => {
      log.push(`handler(${body.groupId})`);
      return options.answer === 'none' ? null : { throttleTimeMs: 0, errorCode: Number(body.memberId.replace(/\D/g, '') || 0) };
    },
    options.releasesFrame === undefined ? {} : { releasesFrame: options.releasesFrame },
  );
}

/** A stage that records its hooks in `log`; `before` and `after` may be replaced. */
function recording(name: string, log: string[], hooks: Partial<Pick<Stage, 'before' | 'after'>> = {}): StageFactory {
  const stage: Stage = {
    name,
    before: (request) => {
      log.push(`${name}.before(${String(request.body.groupId)})`);
      return hooks.before?.(request);
    },
    after: (request, response) => {
      log.push(`${name}.after`);
      return hooks.after === undefined ? response : hooks.after(request, response);
    },
  };
  return () => stage;
}

describe('the dispatcher: decode, the stages, the handler, the stages back out, encode', () => {
  it('runs each stage’s before in order, then the handler, then finish and after in reverse order', async () => {
    const log: string[] = [];
    const { dispatch } = testDispatcher({
      handlers: [heartbeatHandler(log)],
      stages: [
        recording('outer', log, { after: (_r, response) => ({ ...response, throttleTimeMs: 7 }) }),
        recording('inner', log, {
          before: (request) => ({
            kind: 'forward',
            body: { ...request.body, groupId: 'rewritten', memberId: 'm15' },
            finish: (response) => {
              log.push('inner.finish');
              return { ...response, errorCode: (response as { errorCode: number }).errorCode + 1 };
            },
          }),
        }),
      ],
    });
    const response = responseBody(Heartbeat, 4, await dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), fakeControl()));
    assert.deepEqual(log, ['outer.before(g)', 'inner.before(g)', 'handler(rewritten)', 'inner.finish', 'inner.after', 'outer.after']);
    assert.deepEqual(response, { throttleTimeMs: 7, errorCode: 16 });
  });

  it('a stage that answers ends the request there: neither the handler nor a later stage sees it, the earlier ones still finish', async () => {
    const log: string[] = [];
    const { dispatch } = testDispatcher({
      handlers: [heartbeatHandler(log)],
      stages: [
        recording('outer', log),
        recording('refusing', log, { before: () => ({ kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.POLICY_VIOLATION } }) }),
        recording('never', log),
      ],
    });
    const response = responseBody(Heartbeat, 4, await dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), fakeControl()));
    assert.deepEqual(log, ['outer.before(g)', 'refusing.before(g)', 'refusing.after', 'outer.after']);
    assert.equal(response.errorCode, ErrorCode.POLICY_VIOLATION);
  });

  it('with synchronous stages the handler runs in the turn the frame is handed over; a stage may also wait', async () => {
    const log: string[] = [];
    const sync = testDispatcher({ handlers: [heartbeatHandler(log)], stages: [recording('sync', log)] });
    const answered = sync.dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), fakeControl());
    // A produce appends in this turn, in the order its connection read it.
    assert.deepEqual(log, ['sync.before(g)', 'handler(g)']);
    await answered;

    log.length = 0;
    const waiting = testDispatcher({
      handlers: [heartbeatHandler(log)],
      stages: [recording('slow', log, { before: () => sleep(20).then(() => undefined) })],
    });
    const later = waiting.dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), fakeControl());
    assert.deepEqual(log, ['slow.before(g)']);
    assert.equal(responseBody(Heartbeat, 4, await later).errorCode, 0);
    assert.deepEqual(log, ['slow.before(g)', 'handler(g)', 'slow.after']);
  });

  it('a request answered with nothing (acks=0) sends no frame: no finish, and each after sees null', async () => {
    const log: string[] = [];
    const seen: unknown[] = [];
    const { dispatch } = testDispatcher({
      handlers: [heartbeatHandler(log, { answer: 'none' })],
      stages: [
        recording('stage', log, {
          before: (request) => ({ kind: 'forward', body: request.body, finish: () => assert.fail('finish of no response') }),
          after: (_request, response) => {
            seen.push(response);
            return response;
          },
        }),
      ],
    });
    assert.equal(await dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), fakeControl()), null);
    assert.deepEqual(seen, [null]);
  });

  it('gives the frame back once answered when the handler keeps no view of it, whoever answered', async () => {
    const log: string[] = [];
    for (const refuse of [false, true]) {
      const control = fakeControl();
      const { dispatch } = testDispatcher({
        handlers: [heartbeatHandler(log, { releasesFrame: true })],
        stages: refuse ? [recording('refusing', log, { before: () => ({ kind: 'respond', response: { errorCode: 1 } }) })] : [],
      });
      await dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), control);
      assert.equal(control.recycled, 1);
    }
    const control = fakeControl();
    await testDispatcher({ handlers: [heartbeatHandler(log)], stages: [] }).dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), control);
    assert.equal(control.recycled, 0, 'a handler that may keep views of the frame keeps it');
  });

  it('an API this broker has no handler for closes the connection, before any stage sees it', async () => {
    const log: string[] = [];
    const { dispatch } = testDispatcher({ handlers: [heartbeatHandler(log)], stages: [recording('stage', log)] });
    await assert.rejects(dispatch(requestFrame(ListGroups, 4, { statesFilter: [] }), fakeControl()), (err) => isFault(err, 'UNSUPPORTED_API'));
    assert.deepEqual(log, []);
  });

  it('ApiVersions above our versions gets the KIP-511 answer at decode: v0 layout, error 35, our range', async () => {
    const { dispatch } = testDispatcher({ handlers: [], stages: [] });
    const frame = Buffer.from(requestFrame(ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }));
    frame.writeInt16BE(99, 2); // the header's api_version
    const response = responseBody(ApiVersions, 0, await dispatch(frame, fakeControl()));
    assert.equal(response.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.deepEqual(response.apiKeys, [{ apiKey: ApiVersions.apiKey, minVersion: ApiVersions.minVersion, maxVersion: ApiVersions.maxVersion }]);
  });

  it('the header every stage and the handler see carries the client id cut to its bound', async () => {
    const clientIds: (string | null)[] = [];
    const { dispatch } = testDispatcher({
      handlers: [
        handler(Heartbeat, (_body, ctx) => {
          clientIds.push(ctx.header.clientId);
          return { throttleTimeMs: 0, errorCode: 0 };
        }),
      ],
      stages: [
        () => ({
          name: 'peek',
          before: ({ header }) => {
            clientIds.push(header.clientId);
            return undefined;
          },
        }),
      ],
    });
    await dispatch(requestFrame(Heartbeat, 4, HEARTBEAT, { clientId: 'c'.repeat(300) }), fakeControl());
    assert.deepEqual(clientIds.map((id) => id?.length), [255, 255]);
  });

  it('after a v0 SaslHandshake, frames are raw tokens for the session, answered with a bare size-prefixed token', async () => {
    const { dispatch, session } = testDispatcher({ handlers: [saslHandshakeHandler(), saslAuthenticateHandler()], stages: requestStages({ authorizer: denyAll, events: { emit: () => undefined } }), principal: null });
    const handshake = responseBody(SaslHandshake, 0, await dispatch(requestFrame(SaslHandshake, 0, { mechanism: 'PLAIN' }), fakeControl()));
    assert.equal(handshake.errorCode, ErrorCode.NONE);
    assert.equal(session.expectsRawToken, true);
    const answer = await dispatch(Buffer.from('alice'), fakeControl());
    assert.deepEqual(answer, [Buffer.from([0, 0, 0, 2]), Buffer.from('ok')]);
    assert.equal(session.principal, 'User:alice');
  });
});

const denyAll = { authorize: () => false, authorizeAny: () => false };

describe('the broker’s stages (requestStages)', () => {
  it('before authentication only ApiVersions and the SASL APIs pass; anything else is reported and closes the connection unanswered', async () => {
    const log: string[] = [];
    const events: SecurityEvent[] = [];
    const { dispatch } = testDispatcher({
      handlers: [heartbeatHandler(log), saslHandshakeHandler(), saslAuthenticateHandler()],
      stages: requestStages({ authorizer: denyAll, events: { emit: (e) => events.push(e) } }),
      principal: null,
      events,
    });
    const control = fakeControl();
    assert.equal(await dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), control), null);
    assert.deepEqual(control.closes, [{ reason: CloseReasons.UNAUTHENTICATED_REQUEST, detail: 'Heartbeat before authentication' }]);
    assert.deepEqual(events, [{ type: 'connection-refused', connection: 3, remote: '10.1.2.3:4567', reason: CloseReasons.UNAUTHENTICATED_REQUEST, detail: 'Heartbeat before authentication' }]);
    assert.deepEqual(log, [], 'the handler never saw it');

    const handshake = responseBody(SaslHandshake, 1, await dispatch(requestFrame(SaslHandshake, 1, { mechanism: 'PLAIN' }), fakeControl()));
    assert.equal(handshake.errorCode, ErrorCode.NONE, 'the SASL APIs pass the gate, the names and authorization');
  });

  it('authorization answers for the handler with the policy’s denial, and the extra stages come after it', async () => {
    const log: string[] = [];
    const events: SecurityEvent[] = [];
    const { dispatch } = testDispatcher({
      handlers: [heartbeatHandler(log)],
      stages: requestStages({ authorizer: denyAll, events: { emit: (e) => events.push(e) }, extraStages: [recording('extra', log)] }),
      principal: 'User:bob',
    });
    const response = responseBody(Heartbeat, 4, await dispatch(requestFrame(Heartbeat, 4, HEARTBEAT), fakeControl()));
    assert.equal(response.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assert.deepEqual(log, [], 'neither the extra stage nor the handler saw the denied request');
    assert.deepEqual(events.map((e) => e.type), ['authorization-denied']);
  });
});
