import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeLogFs, type LogFs } from '../../../src/storage/log/log-fs.js';
import { createTopic } from '../../helpers/client.js';
import { BatchClient, openBroker, records, tempDataDir, waitFor } from '../../helpers/durability.js';
import { FaultyFs } from '../../helpers/faulty-audit-fs.js';
import { sampleValue } from '../../helpers/metrics-text.js';
import { TEST_AUDIT } from '../../helpers/test-keys.js';

/** The real file system whose fdatasync fails with EIO while `disk.failing` (a failing disk). */
const disk = { failing: true };
const failingSync: LogFs = {
  ...nodeLogFs,
  fdatasync: (fd) => (disk.failing ? Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })) : nodeLogFs.fdatasync(fd)),
};

describe('/readyz and the storage metrics when the disk fails', () => {
  it('a failed fsync is counted, its partition is reported offline, and /readyz turns 503 naming it', async (t) => {
    // Without the audit trail: the __audit partition's fsync would fail too, and be counted with it.
    const { broker, port } = await openBroker(t, tempDataDir(t), { fs: failingSync }, { audit: { ...TEST_AUDIT, enabled: false } });
    const url = broker.adminUrl ?? '';
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    await createTopic(port, 'fragile', 1);
    const client = await BatchClient.open(t, port);
    const answer = await client.produce('fragile', 0, records('r', 3));
    assert.equal(answer.errorCode, 56, 'KAFKA_STORAGE_ERROR');

    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { failing: { check: string; reason?: string }[] };
    assert.deepEqual(body.failing.map((f) => f.check), ['partitions-online']);
    assert.match(body.failing[0]?.reason ?? '', /fragile-0/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'still alive');

    const text = await (await fetch(`${url}/metrics`)).text();
    assert.ok((sampleValue(text, 'parapet_fsync_errors_total') ?? 0) >= 1);
    assert.equal(sampleValue(text, 'parapet_partitions_offline'), 1);
    // The disk recovers for the broker's close (it flushes what it holds).
    disk.failing = false;
  });

  it('an audit trail that cannot be written turns /readyz 503 and parapet_audit_writable 0, and both recover', async (t) => {
    const auditFs = new FaultyFs();
    const { broker, port } = await openBroker(t, tempDataDir(t), { auditFs });
    const url = broker.adminUrl ?? '';
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.equal(sampleValue(await (await fetch(`${url}/metrics`)).text(), 'parapet_audit_writable'), 1);
    auditFs.writeError = 'ENOSPC';
    // The client's login and the topic's creation are events to write: the first write fails. When the
    // login's failure comes first, the creation is refused (the broker fails closed); either way the trail is down.
    await createTopic(port, 'audited', 1).catch((err: unknown) => {
      assert.match(String(err), /POLICY_VIOLATION/);
    });
    await waitFor(() => !broker.auditWritable, 'the failed audit write');
    const failing = await fetch(`${url}/readyz`);
    assert.equal(failing.status, 503);
    assert.deepEqual(((await failing.json()) as { failing: { check: string }[] }).failing.map((f) => f.check), ['audit-writable']);
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.equal(sampleValue(text, 'parapet_audit_writable'), 0);
    assert.ok((sampleValue(text, 'parapet_audit_write_failures_total') ?? 0) >= 1);
    auditFs.writeError = undefined;
    await waitFor(() => broker.auditWritable, 'the retry to succeed', 10_000);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.equal(sampleValue(await (await fetch(`${url}/metrics`)).text(), 'parapet_audit_writable'), 1);
  });
});
