import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveTopicConfig, outOfRangeConfigs } from '../../../src/topics/log-config.js';
import { CompressionCodec } from '../../../src/records/compression.js';
import { DEFAULT_TOPIC_CONFIG_LIMITS, TOPIC_CONFIGS, effectiveConfigValue, validateTopicConfigs } from '../../../src/topics/topic-configs.js';

const limits = DEFAULT_TOPIC_CONFIG_LIMITS;

describe('topic configs', () => {
  it('accept valid values and name the first problem otherwise', () => {
    assert.equal(validateTopicConfigs({ 'retention.ms': '-1', 'message.timestamp.type': 'LogAppendTime', 'segment.bytes': '1048576' }, limits), null);
    assert.match(validateTopicConfigs({ 'retention.ms': '1.5' }, limits) ?? '', /retention\.ms must be an integer/);
    assert.match(validateTopicConfigs({ 'retention.bytes': '-2' }, limits) ?? '', /at least -1/);
    assert.match(validateTopicConfigs({ 'cleanup.policy': 'archive' }, limits) ?? '', /one of delete, compact/);
    for (const policy of ['compact', 'compact,delete', 'delete,compact']) assert.equal(validateTopicConfigs({ 'cleanup.policy': policy }, limits), null);
    assert.equal(validateTopicConfigs({ 'min.cleanable.dirty.ratio': '0.01' }, limits), null);
    assert.match(validateTopicConfigs({ 'min.cleanable.dirty.ratio': '1.5' }, limits) ?? '', /number from 0 to 1/);
    assert.match(validateTopicConfigs({ 'min.cleanable.dirty.ratio': 'half' }, limits) ?? '', /number from 0 to 1/);
    assert.match(validateTopicConfigs({ 'max.compaction.lag.ms': '0' }, limits) ?? '', /at least 1/);
    assert.match(validateTopicConfigs({ 'retention.msx': '1' }, limits) ?? '', /unknown topic config retention\.msx/);
  });

  it('refuse segments small or short enough to exhaust the broker (KIP-1030), naming the broker setting', () => {
    assert.match(validateTopicConfigs({ 'segment.bytes': '14' }, limits) ?? '', /segment\.bytes must be at least 1048576 \(this broker's minSegmentBytes\)/);
    assert.match(validateTopicConfigs({ 'segment.bytes': '1048575' }, limits) ?? '', /at least 1048576/);
    assert.equal(validateTopicConfigs({ 'segment.bytes': '1048576' }, limits), null);
    assert.match(validateTopicConfigs({ 'segment.ms': '1' }, limits) ?? '', /segment\.ms must be at least 60000 \(this broker's minSegmentMs\)/);
    assert.equal(validateTopicConfigs({ 'segment.ms': '60000' }, limits), null);
    // Lowered by the broker's settings, down to Kafka's own floors.
    assert.equal(validateTopicConfigs({ 'segment.bytes': '14', 'segment.ms': '1' }, { ...limits, minSegmentBytes: 14, minSegmentMs: 1 }), null);
  });

  it('bound every number by its type and the broker: int32, int64, the frame limit', () => {
    assert.match(validateTopicConfigs({ 'segment.bytes': '2147483648' }, limits) ?? '', /at most 2147483647/);
    assert.match(validateTopicConfigs({ 'retention.ms': '9223372036854775808' }, limits) ?? '', /at most 9223372036854775807/);
    assert.equal(validateTopicConfigs({ 'retention.ms': '9223372036854775807' }, limits), null);
    assert.match(validateTopicConfigs({ 'max.message.bytes': String(100 * 1024 * 1024 + 1) }, limits) ?? '', /at most 104857600 \(this broker's maxFrameBytes\)/);
    assert.equal(validateTopicConfigs({ 'max.message.bytes': '0' }, limits), null);
    assert.match(validateTopicConfigs({ 'max.message.bytes': '-1' }, limits) ?? '', /at least 0/);
  });

  it('bring values an older version stored out of range to the nearest bound, and say so', () => {
    assert.deepEqual(effectiveConfigValue('segment.bytes', '14', limits), {
      value: '1048576',
      problem: "segment.bytes=14 must be at least 1048576 (this broker's minSegmentBytes): 1048576 applies",
    });
    assert.equal(effectiveConfigValue('retention.ms', '99999999999999999999', limits).value, '9223372036854775807');
    assert.deepEqual(effectiveConfigValue('retention.ms', '1000', limits), { value: '1000', problem: null });
    // Never valid in any version: the default applies.
    assert.equal(effectiveConfigValue('segment.ms', 'soon', limits).value, '604800000');
    const config = effectiveTopicConfig({ 'segment.bytes': '14', 'segment.ms': '1', 'retention.ms': '5000' }, limits);
    assert.equal(config.segmentBytes, 1048576);
    assert.equal(config.segmentMs, 60000);
    assert.equal(config.retentionMs, 5000);
    assert.deepEqual(outOfRangeConfigs({ 'segment.bytes': '14', 'retention.ms': '5000' }, limits), [
      "segment.bytes=14 must be at least 1048576 (this broker's minSegmentBytes): 1048576 applies",
    ]);
  });

  it('give the log its cleanup policy: retention for delete, the compaction configs for compact', () => {
    const plain = effectiveTopicConfig({}, limits);
    assert.equal(plain.deleteRetention, true);
    assert.equal(plain.compaction, undefined);
    const compacted = effectiveTopicConfig({ 'cleanup.policy': 'compact', 'delete.retention.ms': '1000', 'min.cleanable.dirty.ratio': '0.1' }, limits);
    assert.equal(compacted.deleteRetention, false);
    assert.deepEqual(compacted.compaction, { minCleanableDirtyRatio: 0.1, minCompactionLagMs: 0, maxCompactionLagMs: Number('9223372036854775807'), deleteRetentionMs: 1000 });
    const both = effectiveTopicConfig({ 'cleanup.policy': 'delete,compact' }, limits);
    assert.equal(both.deleteRetention, true);
    assert.equal(both.compaction?.deleteRetentionMs, 86400000);
  });

  it('take compression.type with its Kafka names, `uncompressed` meaning codec none and `producer` keeping the batch as sent', () => {
    for (const v of ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd']) assert.equal(validateTopicConfigs({ 'compression.type': v }, limits), null, v);
    assert.match(validateTopicConfigs({ 'compression.type': 'brotli' }, limits) ?? '', /compression\.type must be one of producer, uncompressed, gzip, snappy, lz4, zstd/);
    assert.equal(effectiveTopicConfig({}, limits).compression, undefined);
    assert.equal(effectiveTopicConfig({ 'compression.type': 'uncompressed' }, limits).compression, CompressionCodec.none);
    assert.equal(effectiveTopicConfig({ 'compression.type': 'zstd' }, limits).compression, CompressionCodec.zstd);
    assert.equal(effectiveTopicConfig({ 'compression.type': 'gzip' }, limits).compression, CompressionCodec.gzip);
  });

  it('accept min.insync.replicas=1 only, saying why 2 could never be met on one broker', () => {
    assert.equal(validateTopicConfigs({ 'min.insync.replicas': '1' }, limits), null);
    assert.match(validateTopicConfigs({ 'min.insync.replicas': '2' }, limits) ?? '', /min\.insync\.replicas must be 1: this broker keeps one replica of each partition, so with more, every acks=all produce would fail/);
    assert.match(validateTopicConfigs({ 'min.insync.replicas': '0' }, limits) ?? '', /at least 1/);
    // Stored by some other path: the default is obeyed, not the int32 bound.
    assert.equal(effectiveConfigValue('min.insync.replicas', '3', limits).value, '1');
  });

  it('bound timestamps as Kafka 4.0 does: after.max.ms one hour, before unbounded, difference.max.ms for the bound a topic does not set', () => {
    assert.deepEqual(effectiveTopicConfig({}, limits).timestampBounds, { beforeMs: Infinity, afterMs: 3_600_000 });
    assert.deepEqual(effectiveTopicConfig({ 'message.timestamp.before.max.ms': '1000', 'message.timestamp.after.max.ms': '9223372036854775807' }, limits).timestampBounds, {
      beforeMs: 1000,
      afterMs: Infinity,
    });
    assert.deepEqual(effectiveTopicConfig({ 'message.timestamp.difference.max.ms': '5000' }, limits).timestampBounds, { beforeMs: 5000, afterMs: 5000 });
    assert.deepEqual(effectiveTopicConfig({ 'message.timestamp.difference.max.ms': '5000', 'message.timestamp.after.max.ms': '60000' }, limits).timestampBounds, {
      beforeMs: 5000,
      afterMs: 60000,
    });
    assert.match(validateTopicConfigs({ 'message.timestamp.after.max.ms': '-1' }, limits) ?? '', /at least 0/);
  });

  it('accept the configs Kafka clients copy that have no effect here, and say so in their documentation', () => {
    const inert = ['segment.jitter.ms', 'segment.index.bytes', 'index.interval.bytes', 'flush.messages', 'flush.ms', 'file.delete.delay.ms', 'preallocate', 'message.downconversion.enable', 'unclean.leader.election.enable'];
    for (const key of inert) {
      const def = TOPIC_CONFIGS[key];
      assert.ok(def !== undefined, key);
      assert.equal(validateTopicConfigs({ [key]: def.defaultValue }, limits), null, key);
      assert.match(def.doc, /^No effect here: /, key);
    }
    assert.equal(validateTopicConfigs({ 'unclean.leader.election.enable': 'true', preallocate: 'true', 'flush.messages': '1' }, limits), null);
    assert.match(validateTopicConfigs({ preallocate: 'yes' }, limits) ?? '', /preallocate must be one of true, false/);
    assert.match(validateTopicConfigs({ 'flush.messages': '0' }, limits) ?? '', /at least 1/);
    assert.match(validateTopicConfigs({ 'segment.index.bytes': '3' }, limits) ?? '', /at least 4/);
  });

  it('document every config in one line, with a default that is itself valid', () => {
    for (const [key, def] of Object.entries(TOPIC_CONFIGS)) {
      assert.ok(def.doc.length > 20 && !def.doc.includes('\n'), key);
      assert.equal(validateTopicConfigs({ [key]: def.defaultValue }, limits), null, key);
    }
  });
});
