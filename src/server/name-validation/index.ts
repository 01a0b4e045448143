/**
 * The name stage of the dispatcher: after the authentication gate, before authorization. Every served
 * API has a name check here (a test holds this table to the authorization policies), so no request
 * reaches the authorizer's decision cache, a policy's memo or a handler's maps with a name that breaks
 * the rules of src/protocol/names.ts. See docs/security/limits.md, "Names".
 */
import type { RequestHeader } from '../../protocol/headers.js';
import { boundClientId, type NameLimits } from '../../protocol/names.js';
import { PRE_AUTHENTICATION_APIS } from '../../security/pre-authentication.js';
import { ADMIN_NAME_CHECKS } from './admin.js';
import { DATA_NAME_CHECKS } from './data.js';
import { GROUP_NAME_CHECKS } from './groups.js';
import { alterClientQuotasNames, describeClientQuotasNames } from './quotas.js';
import { TRANSACTION_NAME_CHECKS } from './transactions.js';
import { noNames, type NameCheck, type NameCheckOutcome } from './types.js';

export type { NameCheck, NameCheckOutcome } from './types.js';

// The SASL exchange bounds its own fields (src/security/sasl): a user name there is checked by login.
const PRE_AUTH_NAME_CHECKS = PRE_AUTHENTICATION_APIS.map((api) => noNames(api));

function table(checks: readonly NameCheck[]): ReadonlyMap<number, NameCheck> {
  const byKey = new Map<number, NameCheck>();
  for (const check of checks) {
    if (byKey.has(check.api.apiKey)) throw new Error(`two name checks for ${check.api.name} (${check.api.apiKey})`);
    byKey.set(check.api.apiKey, check);
  }
  return byKey;
}

export const NAME_CHECKS: ReadonlyMap<number, NameCheck> = table([...DATA_NAME_CHECKS, ...GROUP_NAME_CHECKS, ...ADMIN_NAME_CHECKS, ...TRANSACTION_NAME_CHECKS, describeClientQuotasNames, alterClientQuotasNames, ...PRE_AUTH_NAME_CHECKS]);

/**
 * Checks the names of one decoded request. Throws a plain Error for an API without a check: that is a
 * programming error (an API served without one), never a client's; and a ParapetError for what must
 * close the connection (names refused in an acks=0 Produce, as Kafka closes it).
 */
export function checkRequestNames(apiKey: number, body: Record<string, unknown>, version: number, limits: NameLimits): NameCheckOutcome {
  const check = NAME_CHECKS.get(apiKey);
  if (check === undefined) throw new Error(`API key ${apiKey} has no name check: it must not be served`);
  // The codec decoded `body` from this API's request schema, which is what the check's type describes.
  return check.check(body as Parameters<NameCheck['check']>[0], version, limits);
}

/** The header as the broker keeps it: the client id cut to its bound (see boundClientId). */
export function boundHeader(header: RequestHeader, limits: NameLimits): RequestHeader {
  const clientId = boundClientId(header.clientId, limits);
  return clientId === header.clientId ? header : { ...header, clientId };
}
