import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiVersions } from '../../../../src/protocol/messages/api-versions.js';
import { ALL_APIS, apiByKey } from '../../../../src/protocol/messages/index.js';
import { SaslAuthenticate } from '../../../../src/protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../../../../src/protocol/messages/sasl-handshake.js';
import { AclOperation, ResourceType } from '../../../../src/protocol/acl.js';
import { API_POLICIES, authorizeRequest } from '../../../../src/security/authz/policies/index.js';
import { memoizeCheck } from '../../../../src/security/authz/policies/support.js';
import { decoded, grants } from './policies-helpers.js';

/** Every API the broker serves. */
const SERVED = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 24, 25, 26, 28, 29, 30, 31, 32, 33, 36, 37, 42, 44, 48, 49, 50, 51, 60, 65, 66];

describe('the policy table', () => {
  it('has a policy for every served API, registered under its own key and schema', () => {
    for (const key of SERVED) {
      const policy = API_POLICIES.get(key);
      assert.ok(policy !== undefined, `API key ${key} (${apiByKey(key)?.name ?? '?'}) has no policy`);
      assert.equal(policy.api.apiKey, key);
      assert.equal(policy.api, apiByKey(key), `the policy of ${key} is declared on the codec's schema`);
    }
  });

  it('covers every API the codec decodes and nothing else', () => {
    assert.deepEqual([...API_POLICIES.keys()].sort((a, b) => a - b), ALL_APIS.map((a) => a.apiKey).sort((a, b) => a - b));
    assert.deepEqual([...API_POLICIES.keys()].sort((a, b) => a - b), SERVED);
  });

  it('refuses, with a clear error, to authorize an API that has no policy', () => {
    assert.throws(() => authorizeRequest(4, {}, 0, grants()), /API key 4 has no authorization policy/);
  });

  it('forwards the pre-authentication APIs unchanged, asking nothing', () => {
    const cases = [
      { api: ApiVersions, version: 3, body: { clientSoftwareName: 'c', clientSoftwareVersion: '1' } },
      { api: SaslHandshake, version: 1, body: { mechanism: 'SCRAM-SHA-256' } },
      { api: SaslAuthenticate, version: 2, body: { authBytes: Buffer.from('n,,n=alice,r=abc') } },
    ];
    for (const { api, version, body: fields } of cases) {
      const check = grants();
      const body = decoded(api, version, fields);
      const outcome = authorizeRequest(api.apiKey, body, version, check);
      assert.equal(outcome.kind === 'forward' ? outcome.body : null, body, api.name);
      assert.equal(outcome.kind === 'forward' ? outcome.finish : null, undefined);
      assert.deepEqual(check.asked, []);
    }
  });

  it("remembers each answer for one request, but never keys its memo on a name longer than any valid one", () => {
    const check = grants();
    const memo = memoizeCheck(check);
    const long = 'x'.repeat(17_000);
    for (let i = 0; i < 2; i++) {
      memo.allowed(AclOperation.READ, ResourceType.TOPIC, 'orders');
      memo.allowed(AclOperation.READ, ResourceType.TOPIC, long);
    }
    assert.equal(check.asked.filter((q) => q === 'READ:TOPIC:orders').length, 1);
    assert.equal(check.asked.filter((q) => q === `READ:TOPIC:${long}`).length, 2, 'asked again rather than remembered');
  });
});
