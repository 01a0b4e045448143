import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { CredentialStore } from '../../../src/security/credentials/credential-store.js';
import { initDataDir, isInitialised, isNewDataDir, updateClientBootstrap } from '../../../src/security/init.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-init-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('parapet init', () => {
  it('names a specific listen address in the certificate and the client configs, and stores only salted keys', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    assert.equal(isNewDataDir(dataDir), true);
    const result = await initDataDir({ dataDir, host: '10.1.2.3', port: 9093 });
    assert.equal(isInitialised(dataDir), true);
    const cert = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt')));
    assert.match(cert.subjectAltName ?? '', /IP Address:10\.1\.2\.3/);
    assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
    assert.equal(cert.verify(new X509Certificate(readFileSync(result.caFile)).publicKey), true);
    const properties = readFileSync(result.adminProperties, 'utf8');
    assert.match(properties, /^bootstrap\.servers=10\.1\.2\.3:9093$/m);
    const password = /^sasl\.password=(.+)$/m.exec(properties)?.[1] ?? '';
    // The admin has both SCRAM credentials; the metadata store holds no trace of the password itself.
    const store = new MetadataStore(dataDir);
    try {
      const described = new CredentialStore({ store }).describe(['admin']);
      assert.deepEqual(described.map((u) => u.credentials.map((c) => c.mechanism).sort()), [['SCRAM-SHA-256', 'SCRAM-SHA-512']]);
    } finally {
      store.close();
    }
    assert.ok(!readFileSync(join(dataDir, 'metadata.db')).includes(Buffer.from(password)));
    updateClientBootstrap(result, '127.0.0.1', 40000);
    assert.match(readFileSync(result.adminProperties, 'utf8'), /^bootstrap\.servers=127\.0\.0\.1:40000$/m);
    assert.match(readFileSync(result.kafkaJsSnippet, 'utf8'), /brokers: \["127\.0\.0\.1:40000"\]/);
    await assert.rejects(initDataDir({ dataDir, host: '127.0.0.1', port: 9092 }), /already initialised/);
  });
});
