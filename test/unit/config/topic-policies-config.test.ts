import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { applyConfigFile, parseConfigFile, toConfigFile } from '../../../src/config/config-file.js';

const run = promisify(execFile);

const GOOD = `
topicPolicies:
  - name: pii-topics-encrypted
    topics: "*"
    tags: [pii, pci]
    requireEncryption: true
    requireValidation: true
  - name: orders
    topics: "orders.*"
    partitions: { min: 3, max: 48 }
    namePattern: "^[a-z][a-z0-9._-]*$"
    retentionMs: { max: 2592000000 }
`;

/** The problems parseConfigFile reports for `topicPolicies` given as YAML. */
function problems(yaml: string): string {
  try {
    parseConfigFile(`topicPolicies:\n${yaml}`, 'p.yaml');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return '';
}

describe('topicPolicies in the config file', () => {
  it('is read into the broker config (default none), and printed back so that it configures the same broker', () => {
    assert.deepEqual(DEFAULT_BROKER_CONFIG.topicPolicies, []);
    const config = applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(GOOD, 'good.yaml'));
    assert.deepEqual(config.topicPolicies, [
      { name: 'pii-topics-encrypted', topics: '*', tags: ['pii', 'pci'], requireEncryption: true, requireValidation: true },
      { name: 'orders', topics: 'orders.*', partitions: { min: 3, max: 48 }, namePattern: '^[a-z][a-z0-9._-]*$', retentionMs: { max: 2592000000 } },
    ]);
    assert.deepEqual(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(stringify(toConfigFile(config)), 'printed')), config);
  });

  it('refuses a policy it could not apply, naming the key', () => {
    assert.match(problems('  - { name: a, topics: x }\n  - { name: a, topics: y }\n'), /topicPolicies\.1\.name: the policy name a is used twice/);
    assert.match(problems('  - { name: Bad_Name, topics: x }\n'), /topicPolicies\.0\.name: a policy name is 1 to 64/);
    assert.match(problems('  - { name: a }\n'), /topicPolicies\.0\.topics/);
    assert.match(problems('  - { name: a, topics: "a b" }\n'), /topicPolicies\.0\.topics: a topic name or a glob/);
    assert.match(problems('  - { name: a, topics: x, partitions: { min: 5, max: 2 } }\n'), /topicPolicies\.0\.partitions: min must not be above max/);
    assert.match(problems('  - { name: a, topics: x, retentionMs: { min: 10, max: 1 } }\n'), /topicPolicies\.0\.retentionMs: min must not be above max/);
    assert.match(problems('  - { name: a, topics: x, retentionMs: {} }\n'), /topicPolicies\.0\.retentionMs: give min, max or both/);
    assert.match(problems('  - { name: a, topics: x, namePattern: "^(a" }\n'), /topicPolicies\.0\.namePattern: the pattern does not compile/);
    assert.match(problems('  - { name: a, topics: x, namePattern: "(?=a)" }\n'), /topicPolicies\.0\.namePattern: the pattern uses lookahead/);
    assert.match(problems('  - { name: a, topics: x, namePattern: "^(a+)+$" }\n'), /topicPolicies\.0\.namePattern: the pattern repeats a group/);
    assert.match(problems('  - { name: a, topics: x, tags: [PII] }\n'), /topicPolicies\.0\.tags\.0: a tag is 1 to 32/);
    assert.match(problems('  - { name: a, topics: x, requireEncrypton: true }\n'), /requireEncrypton/);
  });

  it('parapet check-config accepts the key and refuses a bad policy with exit status 2', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-policies-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const good = join(dir, 'good.yaml');
    writeFileSync(good, GOOD);
    const { stdout } = await run(process.execPath, ['dist/src/cli/main.js', 'check-config', good]);
    assert.equal(parseConfigFile(stdout, 'printed').topicPolicies?.[1]?.name, 'orders');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'topicPolicies:\n  - { name: a, topics: x, partitions: { min: 5, max: 2 } }\n');
    await assert.rejects(run(process.execPath, ['dist/src/cli/main.js', 'check-config', bad]), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /topicPolicies\.0\.partitions: min must not be above max/);
      return true;
    });
  });
});
