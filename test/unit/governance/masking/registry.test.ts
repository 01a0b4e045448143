import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { MaskingRegistry } from '../../../../src/governance/masking/registry.js';
import { MetadataStore } from '../../../../src/storage/metadata-store.js';

const SECRET = Buffer.alloc(32, 4);
const CONFIG = { principalGroups: { ops: ['User:olga'] }, policies: [{ name: 'cards', topics: ['payments'], fields: [{ path: 'card.number', rule: 'mask' }] }] };

function storeDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-masking-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('masking registry', () => {
  it('adds, lists and removes CLI policies, kept in the metadata store across restarts', (t) => {
    const dir = storeDir(t);
    const store = new MetadataStore(dir);
    const registry = new MaskingRegistry({ config: CONFIG, store: store.masking, secret: SECRET, clock: () => 1_700_000_000_000 });
    const added = registry.add({ name: 'emails', topics: ['crm-*'], exempt: ['Group:ops'], fields: [{ path: 'email', rule: 'hash', part: 'value' }] }, 'User:admin');
    assert.equal(added.kind, 'added');
    assert.deepEqual(
      registry.list().map((p) => [p.name, p.source, p.createdBy ?? null]),
      [['cards', 'config', null], ['emails', 'cli', 'User:admin']],
    );
    assert.equal(registry.current().forPrincipal('User:x')?.('crm-eu')?.policies[0], 'emails', 'in force at once');
    assert.equal(registry.current().forPrincipal('User:olga')?.('crm-eu'), undefined, 'exempt through the group');
    store.close();

    const reopened = new MetadataStore(dir);
    t.after(() => {
      reopened.close();
    });
    const again = new MaskingRegistry({ config: CONFIG, store: reopened.masking, secret: SECRET });
    const emails = again.list().find((p) => p.name === 'emails');
    assert.deepEqual(emails, { name: 'emails', topics: ['crm-*'], exempt: ['Group:ops'], fields: [{ path: 'email', rule: 'hash' }], source: 'cli', createdAt: '2023-11-14T22:13:20.000Z', createdBy: 'User:admin' });
    assert.equal(again.remove('emails').kind, 'removed');
    assert.equal(again.current().forPrincipal('User:x')?.('crm-eu'), undefined, 'removed: no longer applied');
    assert.deepEqual(again.remove('emails'), { kind: 'refused', status: 404, message: 'no masking policy named "emails" was added with the CLI' });
  });

  it('refuses an invalid policy (400), a name taken by the config or the CLI (409), removing a config policy (409)', (t) => {
    const store = new MetadataStore(storeDir(t));
    t.after(() => {
      store.close();
    });
    const registry = new MaskingRegistry({ config: CONFIG, store: store.masking, secret: SECRET });
    const bad = registry.add({ name: 'x', topics: ['t'], fields: [{ path: 'a[0]', rule: 'blur' }] }, 'User:admin');
    assert.equal(bad.kind === 'refused' ? bad.status : 0, 400);
    assert.equal(registry.add({ ...CONFIG.policies[0] } as never, 'User:admin').kind, 'refused');
    assert.equal(registry.add({ name: 'y', topics: ['t'], fields: [{ path: 'a', rule: 'mask' }] }, 'User:admin').kind, 'added');
    const twice = registry.add({ name: 'y', topics: ['u'], fields: [{ path: 'a', rule: 'mask' }] }, 'User:admin');
    assert.equal(twice.kind === 'refused' ? twice.status : 0, 409);
    const config = registry.remove('cards');
    assert.equal(config.kind === 'refused' ? config.status : 0, 409);
    assert.equal(new MaskingRegistry({ config: CONFIG, secret: SECRET }).add({ name: 'z', topics: ['t'], fields: [{ path: 'a', rule: 'mask' }] }, 'User:a').kind, 'refused', 'no store: config only');
  });

  it('a stored policy that no longer reads as one still masks its topics, whole (fail closed)', (t) => {
    const store = new MetadataStore(storeDir(t));
    t.after(() => {
      store.close();
    });
    store.masking.addMaskingPolicy({ name: 'hand-edited', definition: JSON.stringify({ topics: ['secrets'], fields: [{ path: 42, rule: 'mask' }] }), createdMs: 0, createdBy: 'User:x' });
    const warnings: string[] = [];
    const registry = new MaskingRegistry({ config: {}, store: store.masking, secret: SECRET, warn: (m) => warnings.push(m) });
    assert.equal(registry.current().forPrincipal('User:any')?.('secrets')?.whole, true);
    assert.equal(warnings.length, 1);
  });

  it('refuses a config section that is not valid', () => {
    assert.throws(() => new MaskingRegistry({ config: { policies: [{ name: 'a', topics: ['t'], exempt: ['Group:none'], fields: [{ path: 'x', rule: 'mask' }] }] }, secret: SECRET }), /no such group/);
    assert.throws(() => new MaskingRegistry({ config: { policies: [CONFIG.policies[0] as never, CONFIG.policies[0] as never] }, secret: SECRET }), /used twice/);
  });
});
