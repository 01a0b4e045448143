import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { redactSecrets } from './doc-harness.js';

describe('the docs test never prints a secret of its directory', () => {
  it('replaces client passwords, key file lines and password files, and leaves references and the rest', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-doctest-redact-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    mkdirSync(join(dir, 'parapet-data', 'client'), { recursive: true });
    mkdirSync(join(dir, 'parapet-data-keys'));
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'parapet-data', 'client', 'admin.properties'), 'sasl.username=admin\nsasl.password=Adm1n-Pa55word-xyz\n');
    writeFileSync(join(dir, 'ref.properties'), 'sasl.password=${file:secrets/alice.password}\n');
    writeFileSync(join(dir, 'parapet-data-keys', 'master.key'), 'bWFzdGVyLWtleS1iYXNlNjQtMzItYnl0ZXMtbG9uZw==\n');
    // A real key made here (none is committed): its body line is what must not be printed.
    const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const keyBody = signingKey.split('\n')[1] ?? '';
    writeFileSync(join(dir, 'parapet-data-keys', 'audit-signing.key'), signingKey);
    writeFileSync(join(dir, 'secrets', 'alice.password'), 'alice-secret-password\n');
    const text = [
      'sasl.password=Adm1n-Pa55word-xyz',
      `key bWFzdGVyLWtleS1iYXNlNjQtMzItYnl0ZXMtbG9uZw== and ${keyBody}`,
      'alice: alice-secret-password',
      'sasl.password=${file:secrets/alice.password} a PEM header line stays admin',
    ].join('\n');
    assert.equal(
      redactSecrets(text, dir),
      ['sasl.password=[redacted]', 'key [redacted] and [redacted]', 'alice: [redacted]', 'sasl.password=${file:secrets/alice.password} a PEM header line stays admin'].join('\n'),
    );
  });
});
