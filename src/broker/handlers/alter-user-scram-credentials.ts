import { ErrorCode } from '../../protocol/error-codes.js';
import { AlterUserScramCredentials } from '../../protocol/messages/alter-user-scram-credentials.js';
import type { CredentialStore, ScramDeletion, ScramUpsertion } from '../../security/credentials/credential-store.js';
import { credentialFromSaltedPassword, scramMechanismOfCode } from '../../security/credentials/scram-keys.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import { checkUpsertion, confusionGuard, isEmptyPassword } from './scram-checks.js';
import { userResult, type ScramCredentialChangeListener, type UserResult } from './scram-credentials.js';

const DUPLICATE_ALTERATION = 'A user credential cannot be altered twice in the same request';

export interface AlterScramCredentialsDeps {
  readonly credentials: CredentialStore;
  readonly onChange?: ScramCredentialChangeListener;
  /**
   * Name prefixes of certificate and OAUTHBEARER principals (`tls.principalPrefix`,
   * `sasl.oauthbearer.principalPrefix`): a SCRAM user may not be named into them.
   */
  readonly reservedPrefixes?: readonly { readonly source: string; readonly prefix: string }[];
}

/**
 * AlterUserScramCredentials (KIP-554), following Kafka's ScramControlManager: a user in two operations
 * of a request is refused entirely, and the valid alterations of a request are applied together.
 */
export function alterUserScramCredentialsHandler(deps: AlterScramCredentialsDeps): HandlerEntry {
  const { credentials, onChange } = deps;
  const reserved = deps.reservedPrefixes ?? [];
  return handler(AlterUserScramCredentials, async (body, ctx) => {
    // One result per user, in order of first mention. A user in two operations (whatever the
    // mechanisms) is refused entirely, as Kafka's ScramControlManager does.
    const mentions = new Map<string, number>();
    for (const { name } of [...body.deletions, ...body.upsertions]) mentions.set(name, (mentions.get(name) ?? 0) + 1);
    const results = new Map<string, UserResult>();
    for (const [user, count] of mentions) if (count > 1) results.set(user, userResult(user, ErrorCode.DUPLICATE_RESOURCE, DUPLICATE_ALTERATION));

    const deletions: ScramDeletion[] = [];
    for (const d of body.deletions) {
      if (results.has(d.name)) continue;
      const mechanism = scramMechanismOfCode(d.mechanism);
      if (d.name === '') results.set(d.name, userResult(d.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'));
      else if (mechanism === undefined) results.set(d.name, userResult(d.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${d.mechanism}`));
      else deletions.push({ user: d.name, mechanism });
    }
    const upsertions: ScramUpsertion[] = [];
    const confusedWith = body.upsertions.length === 0 ? () => undefined : confusionGuard(credentials.describe(null).map((c) => c.user));
    for (const u of body.upsertions) {
      if (results.has(u.name)) continue;
      const clash = reserved.find((r) => u.name.startsWith(r.prefix));
      const checked: ReturnType<typeof checkUpsertion> =
        clash === undefined
          ? checkUpsertion(u)
          : { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: `User names starting with ${JSON.stringify(clash.prefix)} belong to ${clash.source}: choose another name` };
      if ('errorCode' in checked) {
        results.set(u.name, userResult(u.name, checked.errorCode, checked.errorMessage));
        continue;
      }
      const other = confusedWith(u.name);
      if (other !== undefined) {
        results.set(u.name, userResult(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `User name too similar to the existing user "${other}": only case or Unicode form differs`));
        continue;
      }
      if (await isEmptyPassword(checked.mechanism, u)) {
        results.set(u.name, userResult(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'The credential is derived from the empty password'));
        continue;
      }
      upsertions.push({ user: u.name, mechanism: checked.mechanism, credential: credentialFromSaltedPassword(checked.mechanism, u.saltedPassword, u.salt, u.iterations) });
    }
    // A salted password logs in as the user (it yields ClientKey): once the keys are derived, every one
    // (also of refused upsertions) is wiped rather than left in the frame buffer for the pool to hand out again.
    for (const u of body.upsertions) u.saltedPassword.fill(0);

    const existed = deletions.length + upsertions.length > 0 ? credentials.alter({ deletions, upsertions }) : [];
    const deleted = deletions.filter((d, i) => {
      const found = existed[i] === true;
      results.set(
        d.user,
        found ? userResult(d.user, ErrorCode.NONE) : userResult(d.user, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'),
      );
      return found;
    });
    for (const u of upsertions) results.set(u.user, userResult(u.user, ErrorCode.NONE));

    if (deleted.length + upsertions.length > 0) {
      onChange?.({
        action: 'alter-user-scram-credentials',
        upserted: upsertions.map((u) => ({ user: u.user, mechanism: u.mechanism, iterations: u.credential.iterations })),
        deleted,
        context: ctx,
      });
    }
    // `mentions` holds every user in order of first mention, and each has exactly one result.
    return { throttleTimeMs: 0, results: [...mentions.keys()].flatMap((user) => results.get(user) ?? []) };
  });
}
