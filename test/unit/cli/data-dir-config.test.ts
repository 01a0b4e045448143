import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { auditDirOf, auditSigningKeyRefOf } from '../../../src/audit/audit-config.js';
import { dataDirConfig } from '../../../src/cli/data-dir-config.js';
import { ConfigError } from '../../../src/config-error.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-data-dir-config-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Where the `parapet audit` commands look: the audit directory and the signing key of a data directory. */
const auditPlaces = (dataDir: string) => {
  const { audit } = dataDirConfig(dataDir);
  return { dir: auditDirOf(audit, dataDir), signingKey: auditSigningKeyRefOf(audit, dataDir) };
};

describe("a data directory's configuration, as the commands read it", () => {
  it('without parapet.yaml: the defaults, <data dir>/audit and the key beside the data directory', (t) => {
    const dataDir = join(tempDir(t), 'data');
    assert.deepEqual(auditPlaces(dataDir), { dir: join(dataDir, 'audit'), signingKey: `\${file:${dataDir}-keys/audit-signing.key}` });
    assert.equal(dataDirConfig(dataDir).dataDir, dataDir);
  });

  it("reads parapet.yaml's audit section, relative paths from the data directory, and refuses a bad one", (t) => {
    const dataDir = tempDir(t);
    writeFileSync(join(dataDir, 'parapet.yaml'), 'audit:\n  dir: trail\n  signingKey: ${file:../k/audit.key}\n');
    assert.deepEqual(auditPlaces(dataDir), { dir: join(dataDir, 'trail'), signingKey: `\${file:${join(dataDir, '..', 'k', 'audit.key')}}` });
    writeFileSync(join(dataDir, 'parapet.yaml'), 'listener:\n  port: 9092\n');
    assert.equal(auditPlaces(dataDir).dir, join(dataDir, 'audit'));
    writeFileSync(join(dataDir, 'parapet.yaml'), 'audit: 3\n');
    assert.throws(() => dataDirConfig(dataDir), ConfigError);
  });
});
