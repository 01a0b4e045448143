import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdminClient } from '../../src/client/admin.js';
import { PatternType, AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { clientConfigFor } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { allow } from '../interop/security-support.js';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('the schema registry in a broker', () => {
  it('is served on the admin endpoint from the broker’s store; a changed password stops working at once, not at the cache’s TTL', async (t) => {
    const b = await startSecureBroker(t, {
      users: { dana: 'dana-password-1' },
      acls: [{ ...allow('User:dana', ResourceType.SUBJECT, 'd-', AclOperation.WRITE), patternType: PatternType.PREFIXED }],
    });
    const url = b.broker.adminUrl ?? assert.fail('no admin endpoint');
    const register = (password: string) =>
      fetch(`${url}/subjects/d-value/versions`, { method: 'POST', headers: { ...basic('dana', password), 'content-type': 'application/json' }, body: JSON.stringify({ schema: '{"type":"string"}', schemaType: 'JSON' }) });
    const first = await register('dana-password-1');
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { id: 1 });
    assert.equal((await register('dana-password-1')).status, 200, 'the password is now remembered');
    assert.ok(b.broker.schemaRegistry?.subjectHasId('d-value', 1), 'the record stages see what the routes registered');

    const admin = await AdminClient.connect(clientConfigFor(b.adminProperties), { clientId: 'test' });
    t.after(() => {
      admin.close();
    });
    await admin.upsertScramCredential('dana', 'SCRAM-SHA-512', 'dana-password-2');
    assert.equal((await register('dana-password-1')).status, 401, 'the old password is forgotten with the change');
    assert.equal((await register('dana-password-2')).status, 200);
  });
});
