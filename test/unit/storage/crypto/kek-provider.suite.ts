import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { KeyFault, topicKeyName, type KeyFaultKind, type KekProvider } from '../../../../src/storage/crypto/kek-provider.js';

/**
 * The behaviour every KekProvider owes the broker (src/storage/crypto/kek-provider.ts), to be run
 * against each provider by its own test file: `kekProviderSuite('pkcs11 (SoftHSM2)', open)`.
 *
 * The tests may share one backing store (a token, a keyring file): each uses names of its own, and
 * checks `names()` for those only.
 */

export interface OpenedProvider {
  readonly provider: KekProvider;
  /** A new provider on the same backing store as `provider`, which the test has closed first. */
  readonly reopen: () => Promise<KekProvider>;
}

/**
 * `open` makes a provider for one test; it also closes, when the test ends (`t.after`), every
 * provider it or its `reopen` gave (close must accept being called twice).
 */
export function kekProviderSuite(name: string, open: (t: TestContext) => Promise<OpenedProvider>): void {
  /** A name no other test uses, in the form the broker gives (`topic:<id>`). */
  const fresh = (): string => topicKeyName(randomUUID());
  const dek = (): Buffer => randomBytes(32);
  const context = (text: string): Buffer => Buffer.from(`partition ${text}`);

  describe(`KEK provider: ${name}`, () => {
    it('current creates version 1 once, and gives it again', async (t) => {
      const { provider } = await open(t);
      const n = fresh();
      assert.deepEqual(await provider.describe(n), []);
      assert.deepEqual(await provider.current(n), { name: n, version: 1 });
      assert.deepEqual(await provider.current(n), { name: n, version: 1 });
      assert.deepEqual((await versions(provider, n)).map((v) => v.version), [1]);
      assert.ok((await provider.names()).includes(n));
    });

    it('concurrent first calls create a single version 1', async (t) => {
      const { provider } = await open(t);
      const n = fresh();
      const refs = await Promise.all(Array.from({ length: 8 }, () => provider.current(n)));
      assert.deepEqual(new Set(refs.map((r) => r.version)), new Set([1]));
      assert.equal((await versions(provider, n)).length, 1);
    });

    it('rotate adds version 2, current follows it, and version 1 still unwraps', async (t) => {
      const { provider } = await open(t);
      const n = fresh();
      const v1 = await provider.current(n);
      const key = dek();
      const wrappedV1 = await provider.wrap(v1, key, context('a-0'));
      const v2 = await provider.rotate(n);
      assert.deepEqual(v2, { name: n, version: 2 });
      assert.deepEqual(await provider.current(n), v2);
      assert.deepEqual(await provider.unwrap(v1, wrappedV1, context('a-0')), key);
      const wrappedV2 = await provider.wrap(v2, key, context('a-0'));
      assert.deepEqual(await provider.unwrap(v2, wrappedV2, context('a-0')), key);
      // Each wrapped key opens only under its own version.
      await rejectsWith('tampered', provider.unwrap(v2, wrappedV1, context('a-0')));
      assert.deepEqual((await versions(provider, n)).map((v) => v.version), [1, 2]);
    });

    it('wrap then unwrap gives the key back; the wrapped form shows nothing of it and differs each time', async (t) => {
      const { provider } = await open(t);
      const kek = await provider.current(fresh());
      const key = dek();
      const wrapped = await provider.wrap(kek, key, context('b-3'));
      const again = await provider.wrap(kek, key, context('b-3'));
      assert.notDeepEqual(wrapped, again);
      assert.equal(wrapped.indexOf(key), -1);
      assert.deepEqual(await provider.unwrap(kek, wrapped, context('b-3')), key);
      assert.deepEqual(await provider.unwrap(kek, again, context('b-3')), key);
    });

    it('many wraps and unwraps at once all come out right', async (t) => {
      const { provider } = await open(t);
      const kek = await provider.current(fresh());
      const keys = Array.from({ length: 16 }, dek);
      const wrapped = await Promise.all(keys.map((k, i) => provider.wrap(kek, k, context(`c-${i}`))));
      const back = await Promise.all(wrapped.map((w, i) => provider.unwrap(kek, w, context(`c-${i}`))));
      assert.deepEqual(back, keys);
    });

    it('a wrapped key given another context fails as tampered', async (t) => {
      const { provider } = await open(t);
      const kek = await provider.current(fresh());
      const wrapped = await provider.wrap(kek, dek(), context('d-0'));
      await rejectsWith('tampered', provider.unwrap(kek, wrapped, context('d-1')));
      await rejectsWith('tampered', provider.unwrap(kek, wrapped, Buffer.alloc(0)));
    });

    it('a wrapped key with any bit flipped, cut short or lengthened fails as tampered', async (t) => {
      const { provider } = await open(t);
      const kek = await provider.current(fresh());
      const key = dek();
      const wrapped = await provider.wrap(kek, key, context('e-0'));
      // First, middle and last bytes: whatever the layout, that covers a header, the ciphertext and the tag.
      for (const at of [0, 1, Math.floor(wrapped.length / 2), wrapped.length - 1]) {
        const changed = Buffer.from(wrapped);
        changed.writeUInt8(changed.readUInt8(at) ^ 0x01, at);
        await rejectsWith('tampered', provider.unwrap(kek, changed, context('e-0')), `bit flipped in byte ${at}`);
      }
      await rejectsWith('tampered', provider.unwrap(kek, wrapped.subarray(0, wrapped.length - 1), context('e-0')), 'cut short');
      await rejectsWith('tampered', provider.unwrap(kek, wrapped.subarray(0, 5), context('e-0')), 'cut to 5 bytes');
      await rejectsWith('tampered', provider.unwrap(kek, Buffer.concat([wrapped, Buffer.of(0)]), context('e-0')), 'lengthened');
      assert.deepEqual(await provider.unwrap(kek, wrapped, context('e-0')), key);
    });

    it('an unknown version or name is missing', async (t) => {
      const { provider } = await open(t);
      const n = fresh();
      const kek = await provider.current(n);
      const wrapped = await provider.wrap(kek, dek(), context('f-0'));
      await rejectsWith('missing', provider.unwrap({ name: n, version: 2 }, wrapped, context('f-0')));
      await rejectsWith('missing', provider.wrap({ name: n, version: 2 }, dek(), context('f-0')));
      const never = fresh();
      await rejectsWith('missing', provider.unwrap({ name: never, version: 1 }, wrapped, context('f-0')));
      await rejectsWith('missing', provider.wrap({ name: never, version: 1 }, dek(), context('f-0')));
      assert.ok(!(await provider.names()).includes(never));
    });

    it('destroy shreds every version: later calls throw destroyed; other names are untouched', async (t) => {
      const { provider } = await open(t);
      const [n, other] = [fresh(), fresh()];
      const v1 = await provider.current(n);
      const wrapped = await provider.wrap(v1, dek(), context('g-0'));
      const v2 = await provider.rotate(n);
      const otherKek = await provider.current(other);
      const otherKey = dek();
      const otherWrapped = await provider.wrap(otherKek, otherKey, context('g-1'));

      await provider.destroy(n);
      await rejectsWith('destroyed', provider.current(n));
      await rejectsWith('destroyed', provider.rotate(n));
      await rejectsWith('destroyed', provider.wrap(v2, dek(), context('g-0')));
      await rejectsWith('destroyed', provider.unwrap(v1, wrapped, context('g-0')));
      assert.equal(await provider.describe(n), 'destroyed');
      const names = await provider.names();
      assert.ok(names.includes(n) && names.includes(other));

      assert.deepEqual(await provider.current(other), otherKek);
      assert.deepEqual(await provider.unwrap(otherKek, otherWrapped, context('g-1')), otherKey);
      assert.deepEqual((await versions(provider, other)).map((v) => v.version), [1]);
      // Destroying again is harmless.
      await provider.destroy(n);
      assert.equal(await provider.describe(n), 'destroyed');
    });

    it('describe gives versions, times and a location, and never key material', async (t) => {
      const { provider } = await open(t);
      const n = fresh();
      const before = Date.now();
      const kek = await provider.current(n);
      await provider.rotate(n);
      const after = Date.now();
      const key = dek();
      const wrapped = await provider.wrap(kek, key, context('h-0'));
      const unwrapped = await provider.unwrap(kek, wrapped, context('h-0'));

      const info = await versions(provider, n);
      assert.deepEqual(info.map((v) => v.version), [1, 2]);
      for (const v of info) {
        assert.ok(v.createdMs >= before && v.createdMs <= after, `createdMs ${v.createdMs} not in [${before}, ${after}]`);
        assert.ok(v.location.length > 0);
      }
      const shown = JSON.stringify(info);
      for (const secret of [key, wrapped, unwrapped, wrapped.subarray(wrapped.length - 16)]) {
        for (const text of [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')]) {
          assert.ok(!shown.toLowerCase().includes(text.toLowerCase()), 'describe shows key material');
        }
      }
    });

    it('keys, versions and destroys survive close and reopen', async (t) => {
      const opened = await open(t);
      const [n, gone] = [fresh(), fresh()];
      const v1 = await opened.provider.current(n);
      const key = dek();
      const wrappedV1 = await opened.provider.wrap(v1, key, context('i-0'));
      const v2 = await opened.provider.rotate(n);
      const wrappedV2 = await opened.provider.wrap(v2, key, context('i-0'));
      await opened.provider.current(gone);
      await opened.provider.destroy(gone);
      const described = await opened.provider.describe(n);
      await opened.provider.close();
      await rejectsWith('unavailable', opened.provider.current(n), 'a closed provider');

      const provider = await opened.reopen();
      assert.deepEqual(await provider.current(n), v2);
      assert.deepEqual(await provider.describe(n), described);
      assert.deepEqual(await provider.unwrap(v1, wrappedV1, context('i-0')), key);
      assert.deepEqual(await provider.unwrap(v2, wrappedV2, context('i-0')), key);
      assert.equal(await provider.describe(gone), 'destroyed');
      await rejectsWith('destroyed', provider.current(gone));
      const names = await provider.names();
      assert.ok(names.includes(n) && names.includes(gone));
    });
  });
}

async function versions(provider: KekProvider, name: string) {
  const info = await provider.describe(name);
  assert.notEqual(info, 'destroyed');
  return info === 'destroyed' ? [] : info;
}

async function rejectsWith(kind: KeyFaultKind, promise: Promise<unknown>, what = ''): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof KeyFault, `${what}: expected a KeyFault, got ${String(e)}`);
    assert.equal(e.kind, kind, `${what}: ${e.message}`);
    return true;
  });
}
