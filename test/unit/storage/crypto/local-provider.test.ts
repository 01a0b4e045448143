import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KeyFault } from '../../../../src/storage/crypto/kek-provider.js';
import { LocalKekProvider, parseMasterKey } from '../../../../src/storage/crypto/local-provider.js';
import { tempDir } from '../log/helpers.js';
import { kekProviderSuite } from './kek-provider.suite.js';

const faultKind = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof KeyFault) return { kind: err.kind, message: err.message };
    throw err;
  }
  return assert.fail('expected a KeyFault');
};

describe('the local keyring', () => {
  it('keeps no KEK in clear in the keyring, and opens it again with the same master key only', async (t) => {
    const path = join(tempDir(t), 'keyring.json');
    const master = randomBytes(32);
    const provider = LocalKekProvider.open(path, { kind: 'key', key: master }, { create: true });
    const kek = await provider.current('topic:a');
    const dek = randomBytes(32);
    const wrapped = await provider.wrap(kek, dek, Buffer.from('ctx'));
    const text = readFileSync(path, 'utf8');
    assert.equal(text.includes(dek.toString('base64')), false);
    assert.equal(text.includes(master.toString('base64')), false);
    const again = LocalKekProvider.open(path, { kind: 'key', key: master }, { create: false });
    assert.deepEqual(await again.unwrap(kek, wrapped, Buffer.from('ctx')), dek);
    const wrong = faultKind(() => LocalKekProvider.open(path, { kind: 'key', key: randomBytes(32) }, { create: false }));
    assert.equal(wrong.kind, 'tampered');
    assert.match(wrong.message, /wrong master key/);
  });

  it('derives the master key from a passphrase with the keyring salt; a wrong passphrase is refused', async (t) => {
    const path = join(tempDir(t), 'keyring.json');
    const provider = LocalKekProvider.open(path, { kind: 'passphrase', passphrase: 'correct horse battery staple' }, { create: true });
    const kek = await provider.current('topic:a');
    const wrapped = await provider.wrap(kek, Buffer.alloc(32, 1), Buffer.alloc(0));
    const again = LocalKekProvider.open(path, { kind: 'passphrase', passphrase: 'correct horse battery staple' }, { create: false });
    assert.deepEqual(await again.unwrap(kek, wrapped, Buffer.alloc(0)), Buffer.alloc(32, 1));
    assert.equal(faultKind(() => LocalKekProvider.open(path, { kind: 'passphrase', passphrase: 'incorrect horse battery' }, { create: false })).kind, 'tampered');
    assert.match(faultKind(() => LocalKekProvider.open(join(tempDir(t), 'k.json'), { kind: 'passphrase', passphrase: 'short' }, { create: true })).message, /shorter than 12/);
  });

  it('detects a KEK changed on disk, and a keyring that is missing', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'keyring.json');
    const master = { kind: 'key', key: randomBytes(32) } as const;
    const provider = LocalKekProvider.open(path, master, { create: true });
    const kek = await provider.current('topic:a');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { names: Record<string, { versions: { wrapped: string }[] }> };
    const version = file.names['topic:a']?.versions[0];
    assert.ok(version !== undefined);
    const bytes = Buffer.from(version.wrapped, 'base64');
    bytes[20] = (bytes[20] as number) ^ 1;
    version.wrapped = bytes.toString('base64');
    writeFileSync(path, JSON.stringify(file));
    const reopened = LocalKekProvider.open(path, master, { create: false });
    await assert.rejects(reopened.wrap(kek, randomBytes(32), Buffer.alloc(0)), (err: unknown) => err instanceof KeyFault && err.kind === 'tampered');
    assert.equal(faultKind(() => LocalKekProvider.open(join(dir, 'none.json'), master, { create: false })).kind, 'missing');
  });

  it('reads master keys as 64 hexadecimal digits or base64 of 32 bytes, and nothing else', () => {
    const key = randomBytes(32);
    assert.deepEqual(parseMasterKey(key.toString('hex')), key);
    assert.deepEqual(parseMasterKey(`${key.toString('base64')}\n`), key);
    assert.throws(() => parseMasterKey(randomBytes(16).toString('base64')), /32 bytes/);
  });
});

kekProviderSuite('local keyring', (t) => {
  const path = join(tempDir(t), 'keyring.json');
  const master = { kind: 'key', key: randomBytes(32) } as const;
  const provider = LocalKekProvider.open(path, master, { create: true });
  t.after(() => provider.close());
  return Promise.resolve({
    provider,
    reopen: () => {
      const again = LocalKekProvider.open(path, master, { create: false });
      t.after(() => again.close());
      return Promise.resolve(again);
    },
  });
});
