import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateTopicConfigs } from '../../../src/broker/topic-configs.js';

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
