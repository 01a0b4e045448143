import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import pkcs11js from 'pkcs11js';
import { KeyFault, type KekProvider } from '../../src/storage/crypto/kek-provider.js';
import { openPkcs11Provider } from '../../src/storage/crypto/pkcs11-provider.js';
import { TokenSession } from '../../src/storage/crypto/pkcs11-session.js';
import { kekProviderSuite } from '../unit/storage/crypto/kek-provider.suite.js';

/**
 * The pkcs11 KEK provider against a real PKCS#11 module: SoftHSM2 (Debian's `softhsm2`), with a token
 * initialised in a temporary directory for this run. Without SoftHSM2 the tests are skipped with one
 * line; PARAPET_FULL_SUITE=1 (CI, whose .ci/run installs it) makes that a failure instead.
 */

const MODULE_PATHS = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'];
const softhsmModule = MODULE_PATHS.find((p) => existsSync(p));
const softhsmUtil = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' }).status === 0;
const installed = softhsmModule !== undefined && softhsmUtil;
const skip: string | false =
  installed || process.env.PARAPET_FULL_SUITE === '1' ? false : `SoftHSM2 not installed (no ${MODULE_PATHS.join(' nor ')}, or no softhsm2-util): apt-get install softhsm2`;

const TOKEN = 'parapet-test';
const PIN = '1234';
const WRONG_PIN = '918273';

describe('pkcs11 KEK provider on SoftHSM2', { skip }, () => {
  let dir = '';
  let module = '';

  before(() => {
    if (softhsmModule === undefined || !softhsmUtil) {
      throw new Error(`PARAPET_FULL_SUITE=1 but SoftHSM2 is not installed (looked for ${MODULE_PATHS.join(', ')} and softhsm2-util): apt-get install softhsm2`);
    }
    module = softhsmModule;
    dir = mkdtempSync(join(tmpdir(), 'parapet-softhsm-'));
    mkdirSync(join(dir, 'tokens'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // Read by the module at C_Initialize, and by softhsm2-util: this process's own token directory.
    process.env.SOFTHSM2_CONF = conf;
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '5678'], { stdio: 'pipe' });
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** A provider on the run's token, closed when the test ends. */
  async function openProvider(t: TestContext): Promise<KekProvider> {
    const provider = await openPkcs11Provider({ module, tokenLabel: TOKEN, pin: PIN });
    t.after(() => provider.close());
    return provider;
  }

  /** A raw session on the token, to look at what the provider left there. */
  function inspect(t: TestContext): TokenSession {
    const token = TokenSession.open({ module, tokenLabel: TOKEN, pin: PIN });
    t.after(() => {
      token.close();
    });
    return token;
  }

  const byLabel = (token: TokenSession, label: string) => token.find([{ type: pkcs11js.CKA_LABEL, value: label }]);

  kekProviderSuite('pkcs11 (SoftHSM2)', async (t) => ({ provider: await openProvider(t), reopen: () => openProvider(t) }));

  it('a KEK is an AES-256 key made in the token, sensitive and never extractable', async (t) => {
    const provider = await openProvider(t);
    const kek = await provider.current('topic:attributes');
    await provider.close();

    const token = inspect(t);
    const [key, ...others] = byLabel(token, `parapet:${kek.name}:v${kek.version}`);
    assert.ok(key !== undefined && others.length === 0);
    const flag = (type: number) => token.read(key, type)[0]?.[0];
    assert.equal(flag(pkcs11js.CKA_EXTRACTABLE), 0);
    assert.equal(flag(pkcs11js.CKA_SENSITIVE), 1);
    assert.equal(flag(pkcs11js.CKA_NEVER_EXTRACTABLE), 1);
    assert.equal(flag(pkcs11js.CKA_ALWAYS_SENSITIVE), 1);
    // CKA_LOCAL: generated inside the token, not imported.
    assert.equal(flag(pkcs11js.CKA_LOCAL), 1);
    assert.equal(flag(pkcs11js.CKA_TOKEN), 1);
    assert.equal(flag(pkcs11js.CKA_PRIVATE), 1);
    assert.equal(token.read(key, pkcs11js.CKA_VALUE_LEN)[0]?.readUIntLE(0, 4), 32);
    assert.equal(token.read(key, pkcs11js.CKA_ID)[0]?.toString('utf8'), 'parapet:topic:attributes:v1');
    assert.throws(() => token.read(key, pkcs11js.CKA_VALUE), /CKR_ATTRIBUTE_SENSITIVE/);
  });

  it('destroy removes the key objects from the token and leaves the destroyed mark', async (t) => {
    const provider = await openProvider(t);
    const name = 'topic:shredded';
    await provider.current(name);
    await provider.rotate(name);
    await provider.destroy(name);
    await provider.close();

    const token = inspect(t);
    for (const label of [`parapet:${name}:v1`, `parapet:${name}:v2`, `parapet:${name}:v1:created`, `parapet:${name}:v2:created`]) {
      assert.deepEqual(byLabel(token, label), [], label);
    }
    assert.equal(byLabel(token, `parapet:${name}:destroyed`).length, 1);
  });

  it('opening finishes a destroy that stopped half-way', async (t) => {
    const name = 'topic:half-destroyed';
    const first = await openProvider(t);
    await first.current(name);
    await first.close();
    // What a crash between writing the mark and destroying the keys leaves.
    const token = inspect(t);
    token.api.C_CreateObject(token.session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_APPLICATION, value: 'parapet' },
      { type: pkcs11js.CKA_LABEL, value: `parapet:${name}:destroyed` },
      { type: pkcs11js.CKA_VALUE, value: Buffer.alloc(0) },
    ]);
    token.close();

    const provider = await openProvider(t);
    assert.equal(await provider.describe(name), 'destroyed');
    await provider.close();
    const after = inspect(t);
    assert.deepEqual(byLabel(after, `parapet:${name}:v1`), []);
  });

  it('describe names the token, the module and the object', async (t) => {
    const provider = await openProvider(t);
    await provider.current('topic:where');
    const info = await provider.describe('topic:where');
    assert.notEqual(info, 'destroyed');
    assert.equal(info !== 'destroyed' ? info[0]?.location : '', `pkcs11 token "${TOKEN}" (${module}), object parapet:topic:where:v1`);
    assert.equal(provider.kind, 'pkcs11');
  });

  it('a wrong PIN is refused with a clear message that does not contain the PIN', async () => {
    await assert.rejects(openPkcs11Provider({ module, tokenLabel: TOKEN, pin: WRONG_PIN }), (e: unknown) => {
      assert.ok(e instanceof KeyFault);
      assert.equal(e.kind, 'unavailable');
      assert.match(e.message, /PIN is incorrect/);
      assert.ok(e.message.includes(`"${TOKEN}"`) && e.message.includes(module), e.message);
      assert.ok(!e.message.includes(WRONG_PIN) && !(e.stack ?? '').includes(WRONG_PIN), e.message);
      return true;
    });
  });

  it('an unknown token label is refused with a clear message', async () => {
    await assert.rejects(openPkcs11Provider({ module, tokenLabel: 'no-such-token', pin: PIN }), (e: unknown) => {
      assert.ok(e instanceof KeyFault && e.kind === 'unavailable');
      assert.ok(e.message.includes('"no-such-token"') && e.message.includes(module), e.message);
      assert.match(e.message, /no token with that label/);
      return true;
    });
  });

  it('a module that cannot be loaded is refused with a message naming it', async () => {
    const missing = join(dir, 'no-such-module.so');
    await assert.rejects(openPkcs11Provider({ module: missing, tokenLabel: TOKEN, pin: PIN }), (e: unknown) => {
      assert.ok(e instanceof KeyFault && e.kind === 'unavailable');
      assert.ok(e.message.includes(missing) && e.message.includes(`"${TOKEN}"`), e.message);
      assert.match(e.message, /cannot load the PKCS#11 module/);
      return true;
    });
  });
});
