import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeRequest, encodeRequest } from '../../../src/protocol/frames.js';
import { readRecords, splitBatches, validateBatch } from '../../../src/records/index.js';
import { projectRoot } from '../../helpers/reference.js';

/**
 * Request frames recorded from real clients by test/tools/record-frames.ts (scripts/capture-frames.sh):
 * each decodes at the API and version in its file name, re-encodes to the very same bytes, and a
 * Produce frame carries exactly the two messages the client sent.
 */
const root = join(projectRoot, 'test/fixtures/frames');
const clients = ['kcat', 'kafka-python', 'kafkajs', 'platformatic'];

interface ProduceBody {
  acks: number;
  topicData: { name: string; partitionData: { index: number; records: Buffer | null }[] }[];
}

for (const client of clients) {
  describe(`frames captured from ${client}`, () => {
    const files = readdirSync(join(root, client)).filter((f) => f.endsWith('.bin')).sort();

    it('include the handshake and a produce request', () => {
      assert.ok(files.some((f) => f.includes('-ApiVersions-')), 'an ApiVersions frame');
      assert.ok(files.some((f) => f.includes('-Metadata-')), 'a Metadata frame');
      assert.ok(files.some((f) => f.includes('-Produce-')), 'a Produce frame');
    });

    for (const file of files) {
      it(`${file} decodes and re-encodes byte for byte`, async () => {
        const [, name, v] = /^\d+-(\w+)-v(\d+)\.bin$/.exec(file) ?? [];
        const frame = readFileSync(join(root, client, file));
        const decoded = decodeRequest(frame);
        assert.equal(decoded.kind, 'request');
        assert.equal(decoded.api.name, name);
        assert.equal(decoded.header.apiVersion, Number(v));
        const { header, api, body } = decoded;
        const again = Buffer.concat(encodeRequest(api, header, body)).subarray(4);
        assert.deepEqual(again, frame);

        if (api.name !== 'Produce') return;
        const produce = body as unknown as ProduceBody;
        assert.equal(produce.acks, -1);
        const [topic] = produce.topicData;
        assert.ok(topic !== undefined);
        assert.equal(topic.name, 'fixtures');
        const values: string[] = [];
        const keys: string[] = [];
        for (const partition of topic.partitionData) {
          assert.ok(partition.records !== null);
          for (const batch of splitBatches(partition.records)) {
            validateBatch(batch);
            for (const record of await readRecords(batch)) {
              values.push(record.value?.toString() ?? '');
              keys.push(record.key?.toString() ?? '');
            }
          }
        }
        assert.deepEqual(values.sort(), ['hello-1', 'hello-2']);
        assert.deepEqual(keys.sort(), ['k1', 'k2']);
      });
    }
  });
}
