import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { CredentialStore } from '../../../src/security/credentials/credential-store.js';
import { deriveScramCredential } from '../../../src/security/credentials/scram-keys.js';
import {
  dataDirState,
  initDataDir,
  InitError,
  isInitialised,
  removeInitLeftovers,
  restoreAdminAccess,
  scramUserCount,
  updateClientBootstrap,
  type InitStep,
} from '../../../src/setup/init.js';
import { DataDirLock, DataDirLockedError } from '../../../src/storage/data-dir-lock.js';
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
    assert.equal(dataDirState(dataDir), 'new');
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

  it('refuses to start while another process or command holds the data directory', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const lock = DataDirLock.acquire(dataDir, 'parapet start');
    t.after(() => {
      lock.release();
    });
    await assert.rejects(initDataDir({ dataDir, host: '127.0.0.1', port: 9092 }), DataDirLockedError);
    assert.equal(dataDirState(dataDir), 'new');
    // Under the caller's own lock it works.
    await initDataDir({ dataDir, host: '127.0.0.1', port: 9092, lock });
    assert.equal(isInitialised(dataDir), true);
    assert.equal(lock.held, true, 'a lock the caller gave stays the caller\'s');
  });

  const steps: InitStep[] = ['pending', 'staged', 'credentials', 'placed-ca', 'placed-file', 'config'];
  for (const interruptAt of steps) {
    it(`an initialisation interrupted after "${interruptAt}" is started over, and the admin can log in with what the files say`, async (t) => {
      const dataDir = join(tempDir(t), 'data');
      await assert.rejects(
        initDataDir({
          dataDir,
          host: '127.0.0.1',
          port: 9092,
          afterStep: (step) => {
            if (step === interruptAt) throw new Error('interrupted');
          },
        }),
        /interrupted/,
      );
      // Interrupted before parapet.yaml was placed means not initialised: never half-initialised.
      const state = dataDirState(dataDir);
      if (interruptAt === 'config') {
        // Placed and complete: the start tidies the bookkeeping away and keeps every placed file.
        assert.equal(state, 'initialised');
        removeInitLeftovers(dataDir);
        assert.deepEqual(
          readdirSync(dataDir).filter((n) => n.startsWith('.')),
          [],
        );
        assertAdminPasswordWorks(dataDir, join(dataDir, 'client', 'admin.properties'));
        assert.ok(existsSync(join(dataDir, 'tls', 'server.key')));
        assertCaPlaced(dataDir, `${dataDir}-ca`);
        return;
      }
      assert.ok(state === 'new' || state === 'interrupted', state);
      assert.equal(isInitialised(dataDir), false);
      const result = await initDataDir({ dataDir, host: '127.0.0.1', port: 9092 });
      assert.equal(result.resumed, true);
      assert.equal(isInitialised(dataDir), true);
      // No leftovers: no staging directory, no pending list.
      assert.deepEqual(
        readdirSync(dataDir).filter((n) => n.startsWith('.')),
        [],
      );
      assertAdminPasswordWorks(dataDir, result.adminProperties);
      // The CA directory holds the new CA only: what the interrupted attempt wrote there is gone.
      assertCaPlaced(dataDir, `${dataDir}-ca`);
    });
  }

  it('keeps the CA private key out of the data directory: only ca.crt is there, the key is in the CA directory beside it', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const result = await initDataDir({ dataDir, host: '127.0.0.1', port: 9092 });
    const caDir = `${dataDir}-ca`;
    assert.equal(result.caDir, caDir);
    assert.equal(result.caKeyFile, join(caDir, 'ca.key'));
    assertCaPlaced(dataDir, caDir);
    // Not under any name: no file of the data directory holds the key's text (staging leftovers, the store).
    const caKey = readFileSync(join(caDir, 'ca.key'), 'utf8');
    const keyBody = caKey.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '').slice(0, 64);
    for (const file of filesUnder(dataDir)) {
      const text = readFileSync(file, 'latin1');
      assert.ok(!text.includes(keyBody) && !text.replace(/\s/g, '').includes(keyBody), `${file} holds the CA key`);
    }
    assert.deepEqual(readdirSync(join(dataDir, 'tls')).sort(), ['ca.crt', 'server.crt', 'server.key']);
    assert.match(readFileSync(result.configFile, 'utf8'), new RegExp(`^# The CA's private key is in ${caDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, outside this directory`, 'm'));
  });

  it('puts the CA where --ca-dir says, and refuses a CA directory inside the data directory', async (t) => {
    const root = tempDir(t);
    const dataDir = join(root, 'data');
    await assert.rejects(initDataDir({ dataDir, host: '127.0.0.1', port: 9092, caDir: join(dataDir, 'ca') }), (err: unknown) => {
      assert.ok(err instanceof InitError);
      assert.match(err.message, /is inside the data directory .*: keep the CA key out of the broker's reach/);
      return true;
    });
    await assert.rejects(initDataDir({ dataDir, host: '127.0.0.1', port: 9092, caDir: dataDir }), /is inside the data directory/);
    assert.equal(dataDirState(dataDir), 'new');
    const caDir = join(root, 'offline', 'parapet-ca');
    const result = await initDataDir({ dataDir, host: '127.0.0.1', port: 9092, caDir });
    assert.equal(result.caKeyFile, join(caDir, 'ca.key'));
    assertCaPlaced(dataDir, caDir);
    assert.equal(existsSync(`${dataDir}-ca`), false);
  });

  it('refuses a CA directory that already holds a CA, leaving it untouched', async (t) => {
    const root = tempDir(t);
    const first = await initDataDir({ dataDir: join(root, 'first'), host: '127.0.0.1', port: 9092, caDir: join(root, 'shared-ca') });
    const key = readFileSync(join(root, 'shared-ca', 'ca.key'), 'utf8');
    const second = join(root, 'second');
    await assert.rejects(initDataDir({ dataDir: second, host: '127.0.0.1', port: 9092, caDir: join(root, 'shared-ca') }), (err: unknown) => {
      assert.ok(err instanceof InitError);
      assert.match(err.message, /the CA directory .*shared-ca already holds .*ca\.key.*: choose another --ca-dir/);
      return true;
    });
    assert.equal(readFileSync(join(root, 'shared-ca', 'ca.key'), 'utf8'), key);
    assert.equal(isInitialised(second), false);
    assert.ok(first.caKeyFile !== undefined && existsSync(first.caKeyFile));
  });

  it('starting over never deletes a CA file that is no longer what the interrupted init wrote', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const caDir = `${dataDir}-ca`;
    await assert.rejects(
      initDataDir({
        dataDir,
        host: '127.0.0.1',
        port: 9092,
        afterStep: (step) => {
          if (step === 'placed-ca') throw new Error('interrupted');
        },
      }),
      /interrupted/,
    );
    // Meanwhile someone else keeps another key under that name: it is not init's to delete.
    rmSync(join(caDir, 'ca.key'));
    writeFileSync(join(caDir, 'ca.key'), 'somebody else\'s key', { mode: 0o600 });
    await assert.rejects(initDataDir({ dataDir, host: '127.0.0.1', port: 9092 }), /already holds .*ca\.key/);
    assert.equal(readFileSync(join(caDir, 'ca.key'), 'utf8'), 'somebody else\'s key');
    // init's own certificate was still its own, so it went.
    assert.equal(existsSync(join(caDir, 'ca.crt')), false);
  });

  it('never overwrites files it did not place: a directory holding tls/server.key but no parapet.yaml is refused untouched', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    mkdirSync(join(dataDir, 'tls'), { recursive: true });
    writeFileSync(join(dataDir, 'tls', 'server.key'), 'the operator\'s own key');
    await assert.rejects(initDataDir({ dataDir, host: '127.0.0.1', port: 9092 }), (err: unknown) => {
      assert.ok(err instanceof InitError);
      assert.match(err.message, /no parapet\.yaml but already holds tls\/server\.key: move them away/);
      return true;
    });
    assert.equal(readFileSync(join(dataDir, 'tls', 'server.key'), 'utf8'), 'the operator\'s own key');
    assert.equal(existsSync(join(dataDir, 'parapet.yaml')), false);
    assert.equal(dataDirState(dataDir), 'not-initialised');
  });

  it('secures a directory an --insecure broker used, keeping its data', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    mkdirSync(join(dataDir, 'logs', 'orders-0'), { recursive: true });
    writeFileSync(join(dataDir, 'logs', 'orders-0', '00000000000000000000.log'), 'records');
    assert.equal(dataDirState(dataDir), 'not-initialised');
    await initDataDir({ dataDir, host: '127.0.0.1', port: 9092 });
    assert.equal(readFileSync(join(dataDir, 'logs', 'orders-0', '00000000000000000000.log'), 'utf8'), 'records');
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  });

  it('gives a way back in to an initialised directory without users, and only then', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const first = await initDataDir({ dataDir, host: '127.0.0.1', port: 9092 });
    const options = { dataDir, host: '127.0.0.1', port: 9092, caFile: first.caFile };
    assert.throws(() => restoreAdminAccess(options), /already initialised and has 1 SCRAM user/);
    const store = new MetadataStore(dataDir);
    try {
      const credentials = new CredentialStore({ store });
      credentials.delete('admin', 'SCRAM-SHA-256');
      credentials.delete('admin', 'SCRAM-SHA-512');
    } finally {
      store.close();
    }
    assert.equal(scramUserCount(dataDir), 0);
    const oldPassword = passwordIn(first.adminProperties);
    const restored = restoreAdminAccess(options);
    assert.equal(scramUserCount(dataDir), 1);
    assert.notEqual(passwordIn(restored.adminProperties), oldPassword);
    assertAdminPasswordWorks(dataDir, restored.adminProperties);
    assert.equal(statSync(restored.adminProperties).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(dataDir).filter((n) => n.startsWith('.')),
      [],
    );
  });
});

/** The CA is complete in its directory (0700, key 0600) and the data directory trusts exactly it, without its key. */
function assertCaPlaced(dataDir: string, caDir: string): void {
  assert.deepEqual(readdirSync(caDir).sort(), ['ca.crt', 'ca.key']);
  assert.equal(statSync(caDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(caDir, 'ca.key')).mode & 0o777, 0o600);
  assert.equal(existsSync(join(dataDir, 'tls', 'ca.key')), false);
  const caCert = readFileSync(join(caDir, 'ca.crt'), 'utf8');
  assert.equal(readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'), caCert);
  const ca = new X509Certificate(caCert);
  assert.equal(new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt'))).verify(ca.publicKey), true);
  assert.equal(ca.checkPrivateKey(createPrivateKey(readFileSync(join(caDir, 'ca.key')))), true);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

function passwordIn(properties: string): string {
  const password = /^sasl\.password=(.+)$/m.exec(readFileSync(properties, 'utf8'))?.[1];
  assert.ok(password !== undefined);
  return password;
}

/** The password in the admin's client config is the one the store's SCRAM-SHA-512 keys were derived from. */
function assertAdminPasswordWorks(dataDir: string, properties: string): void {
  const password = passwordIn(properties);
  const store = new MetadataStore(dataDir);
  try {
    const stored = new CredentialStore({ store }).scram('admin', 'SCRAM-SHA-512');
    assert.ok(stored !== undefined, 'the admin has a SCRAM-SHA-512 credential');
    const derived = deriveScramCredential('SCRAM-SHA-512', password, { salt: stored.salt, iterations: stored.iterations });
    assert.deepEqual(derived.storedKey, stored.storedKey, 'the client config holds the password the store knows');
  } finally {
    store.close();
  }
}
