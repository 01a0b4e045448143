import assert from 'node:assert/strict';
import { aclOperationName, resourceTypeName } from '../../../../src/protocol/acl.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../../src/protocol/frames.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../../../../src/protocol/messages/schema.js';
import { authorizeRequest } from '../../../../src/security/authz/policies/index.js';
import type { AuthzCheck, PolicyOutcome } from '../../../../src/security/authz/policies/types.js';

export interface FakeCheck extends AuthzCheck {
  /** Every question asked, in order: `OP:TYPE:name`, `OP:TYPE:(any)` for allowedAny, ` (quiet)` appended when not audited. */
  readonly asked: string[];
}

/**
 * An authorizer that allows exactly the listed `OP:TYPE:name` grants (`WRITE:TOPIC:orders`,
 * `CREATE:CLUSTER:kafka-cluster`). allowedAny(OP, TYPE) is true when some grant has that operation and type.
 */
export function grants(...allowed: string[]): FakeCheck {
  const set = new Set(allowed);
  const asked: string[] = [];
  const key = (op: number, type: number) => `${aclOperationName(op) ?? String(op)}:${resourceTypeName(type) ?? String(type)}`;
  return {
    asked,
    allowed(operation, resourceType, resourceName, options) {
      const k = `${key(operation, resourceType)}:${resourceName}`;
      asked.push(options?.logIfDenied === false ? `${k} (quiet)` : k);
      return set.has(k);
    },
    allowedAny(operation, resourceType) {
      const prefix = `${key(operation, resourceType)}:`;
      asked.push(`${prefix}(any)`);
      return allowed.some((g) => g.startsWith(prefix));
    },
  };
}

export function versionsOf(api: ApiSchema): number[] {
  return Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => api.minVersion + i);
}

/** A request body exactly as the dispatcher gets it: encoded at `version`, then decoded (every field of the version filled). */
export function decoded<A extends ApiSchema>(api: A, version: number, body: object): RequestOf<A> {
  const frame = Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: 7, clientId: 'policy-test' }, body)).subarray(4);
  const result = decodeRequest(frame);
  assert.equal(result.kind, 'request');
  return (result as { body: unknown }).body as RequestOf<A>;
}

/** Encodes a response at `version` and decodes it back: fails when a field the version needs is missing or invalid. */
export function wire(api: ApiSchema, version: number, response: object): Record<string, unknown> {
  const frame = Buffer.concat(encodeResponse(api, version, 7, response)).subarray(4);
  return decodeResponse(api, version, frame).body;
}

export interface Served<A extends ApiSchema> {
  readonly outcome: PolicyOutcome<A>;
  /** The body the handler was given; undefined when the policy answered itself. */
  readonly forwarded: RequestOf<A> | undefined;
  /** What the client gets: the policy's answer, or the handler's completed by `finish`. */
  readonly response: ResponseOf<A>;
}

/**
 * Runs a request as the dispatcher does: through the policy, then (when forwarded) through `handler` and
 * `finish`. A handler left out must not be called: the policy is expected to answer itself.
 */
export function serve<A extends ApiSchema>(
  api: A,
  version: number,
  body: RequestOf<A>,
  check: AuthzCheck,
  handler?: (forwarded: RequestOf<A>) => ResponseOf<A>,
): Served<A> {
  const outcome = authorizeRequest(api.apiKey, body, version, check) as unknown as PolicyOutcome<A>;
  if (outcome.kind === 'respond') return { outcome, forwarded: undefined, response: outcome.response };
  assert.ok(handler !== undefined, `${api.name} v${version}: forwarded to a handler the test expected not to be called`);
  const handled = handler(outcome.body);
  return { outcome, forwarded: outcome.body, response: outcome.finish === undefined ? handled : outcome.finish(handled) };
}

/** Error codes of a decoded response list, by a key: `{ a: [29, 29], b: [0] }`. */
export function codesBy<T>(items: readonly T[], key: (item: T) => string, codes: (item: T) => number[]): Record<string, number[]> {
  return Object.fromEntries(items.map((item) => [key(item), codes(item)]));
}

/** Fields of a decoded response, typed loosely for assertions. */
export type Wire = Record<string, unknown>;
export const list = (value: unknown): Wire[] => {
  assert.ok(Array.isArray(value), `expected an array, got ${String(value)}`);
  return value as Wire[];
};
