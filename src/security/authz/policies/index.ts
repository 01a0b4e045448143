/**
 * The authorization policy of every served API, by API key. The dispatcher must serve no API without
 * one: {@link authorizeRequest} throws for an API key that has none, and a test holds this table to
 * the list of served APIs.
 */
import { ADMIN_POLICIES } from './admin.js';
import { DATA_POLICIES } from './data.js';
import { GROUP_POLICIES } from './groups.js';
import { PRE_AUTH_POLICIES } from './pre-auth.js';
import { TRANSACTION_POLICIES } from './transactions.js';
import { memoizeCheck } from './support.js';
import type { ApiPolicy, AuthzCheck, PolicyOutcome } from './types.js';

export type { ApiPolicy, AuthzCheck, CheckOptions, CheckRole, PolicyOutcome } from './types.js';

function table(policies: readonly ApiPolicy[]): ReadonlyMap<number, ApiPolicy> {
  const byKey = new Map<number, ApiPolicy>();
  for (const policy of policies) {
    if (byKey.has(policy.api.apiKey)) throw new Error(`two authorization policies for ${policy.api.name} (${policy.api.apiKey})`);
    byKey.set(policy.api.apiKey, policy);
  }
  return byKey;
}

export const API_POLICIES: ReadonlyMap<number, ApiPolicy> = table([...DATA_POLICIES, ...GROUP_POLICIES, ...TRANSACTION_POLICIES, ...ADMIN_POLICIES, ...PRE_AUTH_POLICIES]);

/**
 * Authorizes one decoded request through its API's policy. Each (operation, resource) is asked once
 * per request, however often the request names it. Throws a plain Error for an API without a policy:
 * that is a programming error (a handler registered without its policy), never a client's.
 */
export function authorizeRequest(apiKey: number, body: Record<string, unknown>, version: number, check: AuthzCheck): PolicyOutcome {
  const policy = API_POLICIES.get(apiKey);
  if (policy === undefined) throw new Error(`API key ${apiKey} has no authorization policy: it must not be served`);
  // The codec decoded `body` from this API's request schema, which is what the policy's type describes.
  return policy.authorize(body as Parameters<ApiPolicy['authorize']>[0], version, memoizeCheck(check));
}
