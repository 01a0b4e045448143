/**
 * The contract of the name stage (a control is a stage of its own:
 * docs/contributing.md#the-request-pipeline). It runs after the authentication gate and before
 * authorization: each API's check refuses the items whose names break a rule of src/protocol/names.ts,
 * with the error code Kafka's clients expect for them, and hands on the rest, so that neither the
 * authorizer nor any handler ever keys a map on an unbounded name.
 */
import type { NameLimits } from '../../protocol/names.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../../protocol/messages/schema.js';

/**
 * Either the whole answer (every item refused), or the request to pass on with the refused items
 * removed and a `finish` that puts their error entries back into the response, in request order.
 */
export type NameCheckOutcome<A extends ApiSchema = ApiSchema> =
  | { readonly kind: 'forward'; readonly body: RequestOf<A>; readonly finish?: (response: ResponseOf<A>) => ResponseOf<A> }
  | { readonly kind: 'respond'; readonly response: ResponseOf<A> };

export interface NameCheck<A extends ApiSchema = ApiSchema> {
  readonly api: A;
  /** Never mutates `body` or its arrays; throws only for what must close the connection (acks=0 Produce). */
  check(body: RequestOf<A>, version: number, limits: NameLimits): NameCheckOutcome<A>;
}

export function defineNameCheck<A extends ApiSchema>(
  api: A,
  check: (body: RequestOf<A>, version: number, limits: NameLimits) => NameCheckOutcome<A>,
): NameCheck<A> {
  return { api, check };
}

/** For APIs that carry no client-chosen name (ApiVersions, DescribeCluster, …). */
export function noNames<A extends ApiSchema>(api: A): NameCheck<A> {
  return defineNameCheck(api, (body) => ({ kind: 'forward', body }));
}
