import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topicNameProblem, validateTopicConfigs } from '../../../src/broker/topic-configs.js';

describe('topic names', () => {
  it('follow Kafka: 1–249 of [a-zA-Z0-9._-], not "." or ".."', () => {
    for (const ok of ['a', 'orders.v1_EU-2', 'x'.repeat(249), '...']) assert.equal(topicNameProblem(ok), null, ok);
    for (const bad of ['', 'x'.repeat(250), '.', '..', 'a/b', 'a b', 'é', 'a\u0000']) assert.notEqual(topicNameProblem(bad), null, bad);
  });
});

describe('topic configs', () => {
  it('accept valid values and name the first problem otherwise', () => {
    assert.equal(validateTopicConfigs({ 'retention.ms': '-1', 'message.timestamp.type': 'LogAppendTime', 'segment.bytes': '14' }), null);
    assert.match(validateTopicConfigs({ 'retention.ms': '1.5' }) ?? '', /retention\.ms must be an integer/);
    assert.match(validateTopicConfigs({ 'retention.bytes': '-2' }) ?? '', /at least -1/);
    assert.match(validateTopicConfigs({ 'segment.bytes': '13' }) ?? '', /at least 14/);
    assert.match(validateTopicConfigs({ 'cleanup.policy': 'compact' }) ?? '', /one of delete/);
    assert.match(validateTopicConfigs({ 'retention.msx': '1' }) ?? '', /unknown topic config retention\.msx/);
  });
});
