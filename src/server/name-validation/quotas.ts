/**
 * Client quota names: an entity's user or client-id name is kept as a key of the quota settings, so an
 * unbounded one is refused here. A client id longer than maxClientIdLength is never seen on a request
 * (the header's is cut to it), so a quota set on one could never apply.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { AlterClientQuotas, type AlterClientQuotasRequest, type AlterClientQuotasResponse } from '../../protocol/messages/alter-client-quotas.js';
import { DescribeClientQuotas } from '../../protocol/messages/describe-client-quotas.js';
import { MAX_EXISTING_USER_NAME_LENGTH, type NameLimits } from '../../protocol/names.js';
import { mergeInOrder, split } from '../../security/authz/policies/support.js';
import { defineNameCheck } from './types.js';

function entityNameProblem(entityType: string, name: string | null, limits: NameLimits): string | null {
  if (name === null) return null;
  if (entityType === 'client-id' && name.length > limits.maxClientIdLength) return `a client id is at most ${limits.maxClientIdLength} characters (maxClientIdLength)`;
  if (name.length > MAX_EXISTING_USER_NAME_LENGTH) return `a quota entity name is at most ${MAX_EXISTING_USER_NAME_LENGTH} characters`;
  return null;
}

/** DescribeClientQuotas: a match longer than any entity name answers INVALID_REQUEST. */
export const describeClientQuotasNames = defineNameCheck(DescribeClientQuotas, (body, _version, limits) => {
  for (const c of body.components) {
    const problem = entityNameProblem(c.entityType, c.match, limits);
    if (problem !== null) return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, entries: null } };
  }
  return { kind: 'forward', body };
});

type AlteredEntry = AlterClientQuotasResponse['entries'][number];
type AlterEntry = AlterClientQuotasRequest['entries'][number];

/** AlterClientQuotas: an entry naming an entity beyond the bounds is refused with INVALID_REQUEST; the others go on. */
export const alterClientQuotasNames = defineNameCheck(AlterClientQuotas, (body, _version, limits) => {
  const problemOf = (e: AlterEntry) => e.entity.map((c) => entityNameProblem(c.entityType, c.entityName, limits)).find((p) => p !== null) ?? null;
  const { mask, allowed, denied } = split(body.entries, (e) => problemOf(e) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const refused = (e: AlterEntry): AlteredEntry => ({
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: problemOf(e),
    entity: e.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName })),
  });
  const merge = (handled: readonly AlteredEntry[]) => mergeInOrder(body.entries, mask, handled, refused);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, entries: merge([]) } };
  return { kind: 'forward', body: { ...body, entries: allowed }, finish: (response) => ({ ...response, entries: merge(response.entries) }) };
});
