import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
    // Every format follows, and keeps the password.
    const json = JSON.parse(readFileSync(result.adminClientFiles.json, 'utf8')) as Record<string, Record<string, unknown>>;
    assert.deepEqual(json.kafkajs?.brokers, ['127.0.0.1:40000']);
    assert.deepEqual(json['@platformatic/kafka']?.bootstrapBrokers, [{ host: '127.0.0.1', port: 40000 }]);
    const python = json['kafka-python'] ?? {};
    assert.deepEqual(python.bootstrap_servers, ['127.0.0.1:40000']);
    assert.equal(python.sasl_plain_password, password);
    assert.equal(json['confluent-kafka']?.['bootstrap.servers'], '127.0.0.1:40000');
    assert.match(readFileSync(result.adminClientFiles.javaProperties, 'utf8'), /^bootstrap\.servers=127\.0\.0\.1:40000$/m);
    assert.match(readFileSync(result.adminProperties, 'utf8'), new RegExp(`^sasl\\.password=${password}$`, 'm'));
    for (const file of [result.adminProperties, result.adminClientFiles.javaProperties, result.adminClientFiles.json]) {
      assert.equal(statSync(file).mode & 0o777, 0o600, file);
    }
    assert.deepEqual(readdirSync(join(dataDir, 'client')).sort(), ['admin.java.properties', 'admin.json', 'admin.properties']);
    await assert.rejects(initDataDir({ dataDir, host: '127.0.0.1', port: 9092 }), /already initialised/);
  });
});
