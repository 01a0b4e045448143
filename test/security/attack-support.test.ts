import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { LatencyProbe, startBrokerProcess } from './attack-support.js';

describe('the attack harness', () => {
  it('measures a default broker process and a well-behaved client, and stops the broker cleanly', async (t) => {
    const broker = await startBrokerProcess(t);
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    const alice = await broker.addUser('alice', 'alice-password-1', [
      { resourceType: ResourceType.TOPIC, resourceName: 'probe', patternType: PatternType.LITERAL, host: '*', operation: AclOperation.WRITE, permission: AclPermissionType.ALLOW },
    ]);
    const probe = await LatencyProbe.open(t, alice, 'probe');
    const { metadataMs, produceMs } = await probe.median(3);
    assert.ok(metadataMs > 0 && metadataMs < 1000, `metadata ${metadataMs} ms`);
    assert.ok(produceMs > 0 && produceMs < 1000, `produce ${produceMs} ms`);
    assert.ok(broker.rssBytes() > 10 * 1024 * 1024);
    assert.ok(broker.openFds() > 3);
    assert.equal(await broker.stop(), 0);
  });
});
