import { errorByCode } from '../../../protocol/error-codes.js';
import type { ApiSchema, RequestOf } from '../../../protocol/messages/schema.js';
import type { ApiPolicy, AuthzCheck, PolicyOutcome } from './types.js';

/** Declares a policy with the request and response types derived from the API's schema. */
export function definePolicy<A extends ApiSchema>(
  api: A,
  authorize: (body: RequestOf<A>, version: number, check: AuthzCheck) => PolicyOutcome<A>,
): ApiPolicy<A> {
  return { api, authorize };
}

/** The message clients show for a denial: the error table's, so every policy words it the same way. */
export function denialMessage(errorCode: number): string {
  return errorByCode(errorCode)?.message ?? 'Not authorized.';
}

/** Which items are allowed, in request order. */
export interface Split<T> {
  readonly mask: readonly boolean[];
  readonly allowed: T[];
  readonly denied: T[];
}

export function split<T>(items: readonly T[], isAllowed: (item: T) => boolean): Split<T> {
  const mask = items.map(isAllowed);
  return {
    mask,
    allowed: items.filter((_, i) => mask[i] === true),
    denied: items.filter((_, i) => mask[i] !== true),
  };
}

/**
 * The response entries in request order: the handler's answer for each allowed item, the denial for
 * each denied one. Handlers answer the items they were given one for one and in order; should one not
 * (a future handler that merges duplicates), its entries come first and the denials after them, which
 * clients accept as Kafka itself answers in no particular order.
 */
export function mergeInOrder<T, R>(items: readonly T[], mask: readonly boolean[], handled: readonly R[], denied: (item: T) => R): R[] {
  const allowedCount = mask.filter(Boolean).length;
  if (handled.length !== allowedCount) {
    return [...handled, ...items.filter((_, i) => mask[i] !== true).map(denied)];
  }
  let next = 0;
  return items.map((item, i) => (mask[i] === true ? (handled[next++] as R) : denied(item)));
}

/**
 * Longest resource name whose answer is remembered: the name stage bounds names far below this, and a
 * longer one (which V8 would hash by its length alone) is asked again rather than made a key.
 */
const MAX_MEMO_NAME_LENGTH = 4096;

/**
 * Remembers each answer for the length of one request, as Kafka's `filterByAuthorized` asks once per
 * distinct name: a topic named twice is checked (and its denial audited) once.
 */
export function memoizeCheck(check: AuthzCheck): AuthzCheck {
  const answers = new Map<string, boolean>();
  return {
    allowed(operation, resourceType, resourceName, options) {
      if (resourceName.length > MAX_MEMO_NAME_LENGTH) return check.allowed(operation, resourceType, resourceName, options);
      // The same resource asked for another reason is another question (logged and recorded apart).
      const reason = options?.role ?? (options?.logIfDenied === false ? 'q' : 'l');
      const key = `${operation}:${resourceType}:${reason}:${resourceName}`;
      let answer = answers.get(key);
      if (answer === undefined) {
        answer = check.allowed(operation, resourceType, resourceName, options);
        answers.set(key, answer);
      }
      return answer;
    },
    allowedAny(operation, resourceType) {
      const key = `${operation}:${resourceType}:any`;
      let answer = answers.get(key);
      if (answer === undefined) {
        answer = check.allowedAny(operation, resourceType);
        answers.set(key, answer);
      }
      return answer;
    },
  };
}
