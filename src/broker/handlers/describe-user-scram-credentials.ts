import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeUserScramCredentials } from '../../protocol/messages/describe-user-scram-credentials.js';
import type { CredentialStore } from '../../security/credentials/credential-store.js';
import { SCRAM_MECHANISM_CODES } from '../../security/credentials/scram-keys.js';
import type { ScramMechanismName } from '../../security/types.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import { userResult } from './scram-credentials.js';

/** DescribeUserScramCredentials (KIP-554): each user's mechanisms and iterations, never a key. */
export function describeUserScramCredentialsHandler(credentials: CredentialStore): HandlerEntry {
  return handler(DescribeUserScramCredentials, (body) => {
    const toResult = (u: { user: string; credentials: readonly { mechanism: ScramMechanismName; iterations: number }[] }) => ({
      ...userResult(u.user, ErrorCode.NONE),
      credentialInfos: u.credentials.map((c) => ({ mechanism: SCRAM_MECHANISM_CODES[c.mechanism], iterations: c.iterations })),
    });
    // Kafka describes everyone for a null list and for an empty one alike.
    if (body.users === null || body.users.length === 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: credentials.describe(null).map(toResult) };
    }
    const named = new Map<string, number>();
    for (const { name } of body.users) named.set(name, (named.get(name) ?? 0) + 1);
    const once = [...named].filter(([, count]) => count === 1).map(([name]) => name);
    const found = new Map(credentials.describe(once).map((u) => [u.user, u]));
    const results = [...named].map(([user, count]) => {
      if (count > 1) {
        return { ...userResult(user, ErrorCode.DUPLICATE_RESOURCE, `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`), credentialInfos: [] };
      }
      const entry = found.get(user);
      if (entry === undefined) {
        return { ...userResult(user, ErrorCode.RESOURCE_NOT_FOUND, `Attempt to describe a user credential that does not exist: ${user}`), credentialInfos: [] };
      }
      return toResult(entry);
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  });
}
