import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { connect, eventually, LatencyProbe, startBrokerProcess } from './attack-support.js';
import { logLines, produceEach, range, withinProbeBound } from './storage-attack-support.js';

/**
 * Attacks on the broker's file descriptors (docs/security/limits.md, "Partitions, open files and topic
 * configs"): many partitions written, and a process whose `ulimit -n` is small.
 */

describe('storage limits: open files', () => {
  it('keeps the segment files of many partitions under maxOpenLogFiles, and idle partitions hold none', async (t) => {
    const MAX = 32;
    const TOPICS = 4;
    const PARTITIONS = 50;
    const broker = await startBrokerProcess(t, { configYaml: `maxOpenLogFiles: ${MAX}\nlogFileIdleMs: 1000` });
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'probe');
    const baseline = await probe.median(5);
    const c = await connect(t, broker.adminConfig);
    for (let i = 0; i < TOPICS; i++) await admin.createTopic(`wide-${i}`, PARTITIONS);
    const fdsBefore = broker.openFds();

    // One request per topic names all its partitions; partitions refused for want of a file slot
    // (KAFKA_STORAGE_ERROR, retriable) are produced again, as a client would retry them.
    let maxFds = 0;
    let retried = 0;
    for (let i = 0; i < TOPICS; i++) {
      let todo = range(PARTITIONS);
      for (let attempt = 0; todo.length > 0; attempt++) {
        assert.ok(attempt < 50, `wide-${i}: ${todo.length} partitions still refused`);
        const codes = await produceEach(c, `wide-${i}`, todo);
        maxFds = Math.max(maxFds, broker.openFds());
        const refused = todo.filter((p) => codes.get(p) !== ErrorCode.NONE);
        for (const p of refused) assert.equal(codes.get(p), ErrorCode.KAFKA_STORAGE_ERROR, `wide-${i}-${p}`);
        retried += refused.length;
        todo = refused;
        if (todo.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const during = await probe.median(5);
    // The connections, the metadata store and Node's own descriptors did not change: only log files did.
    assert.ok(maxFds <= fdsBefore + MAX + 2, `open descriptors ${fdsBefore} → at most ${maxFds} with ${TOPICS * PARTITIONS} partitions written`);
    assert.ok(withinProbeBound(baseline.produceMs, during.produceMs), `probe produce ${baseline.produceMs.toFixed(1)} → ${during.produceMs.toFixed(1)} ms`);
    // Idle files are synced and closed by the sweep: only the probe's partition may keep one.
    await eventually(() => broker.openFds() <= fdsBefore - 1 + 2, `idle log files to close (fds ${broker.openFds()}, before ${fdsBefore})`, 8000);
    t.diagnostic(`fds before ${fdsBefore}, max ${maxFds}, after idle ${broker.openFds()}; ${retried} partition appends retried; probe ${baseline.produceMs.toFixed(1)} → ${during.produceMs.toFixed(1)} ms`);
  });

  it('with a small ulimit -n, EMFILE fails only the requests that hit it, is logged once, the probe is served, and the broker restarts', async (t) => {
    const LIMIT = 160;
    const PARTITIONS = 200;
    // maxOpenLogFiles set far above the process limit (the broker warns): the LRU does not protect it.
    const broker = await startBrokerProcess(t, { openFileLimit: LIMIT, configYaml: 'maxOpenLogFiles: 10000' });
    await eventually(() => logLines(broker).length > 0, 'the start-up warning');
    assert.ok(
      logLines(broker).some((l) => /maxOpenLogFiles \(10000\) leaves no room under the process's open-file limit \(ulimit -n = 160\)/.test(l.msg)),
      broker.output(),
    );
    assert.match(readFileSync(`/proc/${broker.pid}/limits`, 'utf8'), /Max open files\s+160\s+160/);
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    await admin.createTopic('many', PARTITIONS);
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'probe');
    const baseline = await probe.median(5);
    const c = await connect(t, broker.adminConfig);

    // acks=1: the files stay unsynced, so none may be closed, and the process runs out of descriptors.
    const codes = new Map<number, number>();
    for (let start = 0; start < PARTITIONS; start += 50) {
      for (const [p, code] of await produceEach(c, 'many', range(50).map((i) => start + i))) codes.set(p, code);
    }
    const failed = [...codes].filter(([, code]) => code !== ErrorCode.NONE);
    assert.ok(failed.length > 0, 'some partitions met EMFILE');
    assert.ok(failed.length < PARTITIONS, 'the others were written');
    for (const [p, code] of failed) assert.equal(code, ErrorCode.KAFKA_STORAGE_ERROR, `many-${p}`);
    // The probe's partition, connection and Metadata are still served.
    const during = await probe.median(5);
    assert.ok(withinProbeBound(baseline.produceMs, during.produceMs), `probe produce ${baseline.produceMs.toFixed(1)} → ${during.produceMs.toFixed(1)} ms`);
    // Logged once for the whole burst, not once per failed partition.
    const emfileLines = logLines(broker).filter((l) => l.code === 'EMFILE');
    assert.equal(emfileLines.length, 1, broker.output());
    assert.match(emfileLines[0]?.msg ?? '', /out of file descriptors: the request failed with a retriable error, the partition stays online/);

    // An acks=all produce syncs the written files, which may then be closed: the refused partitions
    // are written on retry (no partition was taken offline).
    assert.equal((await produceEach(c, 'probe', [0], -1)).get(0), ErrorCode.NONE);
    const retried = await produceEach(c, 'many', failed.map(([p]) => p));
    assert.deepEqual([...retried.values()].filter((code) => code !== ErrorCode.NONE), []);
    assert.equal(await broker.stop(), 0);

    // Restarted with the same limit and the default maxOpenLogFiles (auto: half of 160), every
    // partition is served and the process stays under its limit.
    const yaml = join(broker.dataDir, 'parapet.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('maxOpenLogFiles: 10000', ''));
    const again = await startBrokerProcess(t, { dataDir: broker.dataDir, openFileLimit: LIMIT });
    const c2 = await connect(t, again.adminConfig);
    for (let start = 0; start < PARTITIONS; start += 50) {
      const result = await produceEach(c2, 'many', range(50).map((i) => start + i), -1);
      assert.deepEqual([...result.values()].filter((code) => code !== ErrorCode.NONE), [], `partitions ${start}..${start + 49}`);
      assert.ok(again.openFds() <= LIMIT / 2 + 64, `${again.openFds()} descriptors`);
    }
    assert.deepEqual(logLines(again).filter((l) => l.code === 'EMFILE'), []);
    assert.equal(await again.stop(), 0);
  });
});
