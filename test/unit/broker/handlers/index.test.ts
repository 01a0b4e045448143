import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brokerHandlers, type HandlerDeps } from '../../../../src/broker/handlers/index.js';
import { ApiVersions } from '../../../../src/protocol/messages/api-versions.js';
import { apiByKey } from '../../../../src/protocol/messages/index.js';
import { API_POLICIES } from '../../../../src/security/authz/policies/index.js';
import { testRequestContext } from '../../../helpers/request-context.js';

/**
 * The handlers only keep their dependencies until a request comes: building the table asks nothing of
 * them, so empty stand-ins are enough to check what it registers.
 */
const STANDINS = { identity: { nodeId: 0, clusterId: 'c' }, autoCreateTopics: false, fetch: {}, scram: {} } as unknown as HandlerDeps;

describe('the handler table', () => {
  it('serves every API that has an authorization policy, each under its own key and schema', () => {
    const handlers = brokerHandlers(STANDINS);
    const keys = (map: ReadonlyMap<number, unknown>) => [...map.keys()].sort((a, b) => a - b);
    assert.deepEqual(keys(handlers), keys(API_POLICIES));
    for (const [key, entry] of handlers) assert.equal(entry.api, apiByKey(key), `the handler of ${key} is declared on the codec's schema`);
  });

  it('advertises in ApiVersions exactly what it serves', async () => {
    const handlers = brokerHandlers(STANDINS);
    const apiVersions = handlers.get(ApiVersions.apiKey);
    assert.ok(apiVersions !== undefined);
    const context = testRequestContext({ header: { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 't' }, listener: { host: 'h', port: 1 }, connectionId: 1, clientHost: 'h' });
    const response = (await apiVersions.handle({}, context)) as { apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[] };
    assert.deepEqual(
      response.apiKeys.map((a) => a.apiKey),
      [...handlers.keys()].sort((a, b) => a - b),
    );
    for (const a of response.apiKeys) {
      const api = apiByKey(a.apiKey);
      assert.deepEqual([a.minVersion, a.maxVersion], [api?.minVersion, api?.maxVersion]);
    }
  });
});
