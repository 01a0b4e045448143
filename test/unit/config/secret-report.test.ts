import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { applyConfigFile, parseConfigFile } from '../../../src/config/config-file.js';
import { secretReport, secretReportText } from '../../../src/config/secret-report.js';

const SECRET = 'report-secret-value-7f3a9c';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-secret-report-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function reportOf(yaml: string, dir: string) {
  return secretReport(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(`dataDir: data\n${yaml}`, 'test.yaml'), dir));
}

describe('the secrets check-config reports', () => {
  it('says where each secret comes from, never its value; the defaults a first start creates are not problems', (t) => {
    const dir = tempDir(t);
    const defaults = reportOf('', dir);
    assert.deepEqual(defaults.problems, []);
    assert.deepEqual(
      defaults.lines.map((l) => [l.setting, l.isDefault, l.state]),
      [
        ['encryptionAtRest.masterKey', true, `not created yet (the first start writes ${join(dir, 'data-keys', 'master.key')}, mode 600)`],
        ['audit.signingKey', true, `not created yet (the first start writes ${join(dir, 'data-keys', 'audit-signing.key')}, mode 600)`],
      ],
    );

    writeFileSync(join(dir, 'token'), `${SECRET}\n`, { mode: 0o600 });
    process.env.PARAPET_TEST_PASSPHRASE = SECRET;
    t.after(() => {
      delete process.env.PARAPET_TEST_PASSPHRASE;
    });
    const set = reportOf('encryptionAtRest:\n  masterPassphrase: ${env:PARAPET_TEST_PASSPHRASE}\nadminEndpoint:\n  bearerToken: ${file:token}\naudit:\n  enabled: false\n', dir);
    assert.deepEqual(set.problems, []);
    const text = secretReportText(set);
    assert.equal(
      text,
      '# secrets, by reference (the values are never shown):\n' +
        '#   encryptionAtRest.masterPassphrase: ${env:PARAPET_TEST_PASSPHRASE}: set (from env PARAPET_TEST_PASSPHRASE)\n' +
        `#   adminEndpoint.bearerToken: \${file:${join(dir, 'token')}}: set (from file ${join(dir, 'token')}, mode 600)\n`,
    );
  });

  it('reports what the broker would refuse: a file others may read, an unset variable, an empty file', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'open.key'), SECRET);
    chmodSync(join(dir, 'open.key'), 0o644);
    writeFileSync(join(dir, 'empty.token'), '\n', { mode: 0o600 });
    const report = reportOf('encryptionAtRest:\n  masterKey: ${file:open.key}\naudit:\n  signingKey: ${env:PARAPET_TEST_UNSET_KEY}\nadminEndpoint:\n  bearerToken: ${file:empty.token}\n', dir);
    assert.deepEqual(report.problems, [
      `encryptionAtRest.masterKey: ${join(dir, 'open.key')} may be read by other accounts (mode 644): \`chmod 600 ${join(dir, 'open.key')}\``,
      'audit.signingKey: the environment variable PARAPET_TEST_UNSET_KEY is not set',
      `adminEndpoint.bearerToken: ${join(dir, 'empty.token')} is empty`,
    ]);
    assert.ok(!secretReportText(report).includes(SECRET));
  });
});
