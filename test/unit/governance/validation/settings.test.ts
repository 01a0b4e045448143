import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStrategy, topicValidation } from '../../../../src/governance/validation/settings.js';
import { subjectName } from '../../../../src/governance/validation/record-check.js';
import { decompressedLimit } from '../../../../src/storage/log/append-rules.js';

describe('validation settings from topic configs', () => {
  it('is off unless a topic turns key or value validation on', () => {
    assert.equal(topicValidation({}), null);
    assert.equal(topicValidation({ 'confluent.value.schema.validation': 'false', 'schema.validation': 'payload' }), null);
  });

  it('defaults to TopicNameStrategy, id depth and the log bound at the default max.message.bytes', () => {
    assert.deepEqual(topicValidation({ 'confluent.value.schema.validation': 'true' }), {
      key: null,
      value: 'TopicNameStrategy',
      depth: 'id',
      maxBatchBytes: decompressedLimit(1048588),
    });
  });

  it('reads both sides, their strategies by class or short name, payload depth and max.message.bytes', () => {
    const v = topicValidation({
      'confluent.key.schema.validation': 'true',
      'confluent.value.schema.validation': 'true',
      'confluent.key.subject.name.strategy': 'io.confluent.kafka.serializers.subject.RecordNameStrategy',
      'confluent.value.subject.name.strategy': 'TopicRecordNameStrategy',
      'schema.validation': 'payload',
      'max.message.bytes': '4194304',
    });
    assert.deepEqual(v, { key: 'RecordNameStrategy', value: 'TopicRecordNameStrategy', depth: 'payload', maxBatchBytes: decompressedLimit(4194304) });
  });

  it('parses the three strategies and nothing else', () => {
    assert.equal(parseStrategy('io.confluent.kafka.serializers.subject.TopicNameStrategy'), 'TopicNameStrategy');
    assert.equal(parseStrategy('RecordNameStrategy'), 'RecordNameStrategy');
    assert.equal(parseStrategy('com.example.MyStrategy'), null);
    assert.equal(parseStrategy('io.confluent.kafka.serializers.subject.'), null);
  });

  it('names subjects as Confluent strategies do', () => {
    assert.equal(subjectName('TopicNameStrategy', 't', 'key', 'x.Y'), 't-key');
    assert.equal(subjectName('TopicNameStrategy', 't', 'value', undefined), 't-value');
    assert.equal(subjectName('RecordNameStrategy', 't', 'value', 'x.Y'), 'x.Y');
    assert.equal(subjectName('TopicRecordNameStrategy', 't', 'value', 'x.Y'), 't-x.Y');
    assert.equal(subjectName('RecordNameStrategy', 't', 'value', undefined), null);
  });
});
