/**
 * Error answers, built from the schema. An entry that carries an error (a denied partition, a topic
 * that could not be created), or a whole response that does, has "no value" in every other field, and
 * Kafka's error answers (its `getErrorResponse`s) agree on what that is: the field's declared default
 * where it has one, else −1 for a signed number (no offset, epoch, node or count), empty for strings,
 * bytes, record sets and arrays, false, the zero UUID, and the same within nested structs. Tagged fields
 * are left to the codec, which sends none that equals its default. So an error answer needs only its
 * keys and error code, and a new API gets its own from its schema.
 */
import { errorByCode, ErrorCode } from './error-codes.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from './messages/add-partitions-to-txn.js';
import { Fetch } from './messages/fetch.js';
import { Produce } from './messages/produce.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from './messages/txn-offset-commit.js';
import type { ApiSchema, FieldDef, ResponseOf, StructDef, StructValue } from './messages/schema.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** Shared: a zero-length buffer has nothing to change. */
const NO_BYTES = Buffer.alloc(0);

/**
 * An entry of `struct` answering with `errorCode`: its `errorMessage`, when it has one, is the error
 * table's message (null for NONE); `fields` set the keys (a partition index, a name) and anything else
 * the entry says differently.
 */
export function errorEntry<S extends StructDef>(struct: S, errorCode: number, fields: Partial<StructValue<S>> = {}): StructValue<S> {
  const entry = emptyStruct(struct);
  if ('errorCode' in struct) entry.errorCode = errorCode;
  if ('errorMessage' in struct) entry.errorMessage = errorCode === ErrorCode.NONE ? null : (errorByCode(errorCode)?.message ?? null);
  return Object.assign(entry, fields) as StructValue<S>;
}

/** A whole response answering the request with `errorCode` at its top level, unthrottled. */
export function errorResponse<A extends ApiSchema>(api: A, errorCode: number, fields: Partial<ResponseOf<A>> = {}): ResponseOf<A> {
  const response = errorEntry(api.response.fields, errorCode, fields as Partial<StructValue<StructDef>>) as Record<string, unknown>;
  if ('throttleTimeMs' in api.response.fields && !('throttleTimeMs' in fields)) response.throttleTimeMs = 0;
  return response as ResponseOf<A>;
}

/** The struct of an array-of-structs field: `entryOf(Produce.response.fields.responses)`. */
export function entryOf<S extends StructDef>(field: { readonly type: { readonly array: { readonly struct: S } } }): S {
  return field.type.array.struct;
}

// Entries that an authorization policy and a handler both answer with.

const PRODUCE_PARTITION = entryOf(entryOf(Produce.response.fields.responses).partitionResponses);
const FETCH_PARTITION = entryOf(entryOf(Fetch.response.fields.responses).partitions);

/** A Produce partition whose batch was not appended: no offsets. */
export function failedProducePartition(index: number, errorCode: number, errorMessage?: string) {
  return errorEntry(PRODUCE_PARTITION, errorCode, errorMessage === undefined ? { index } : { index, errorMessage });
}

/**
 * A Fetch partition without records (Kafka's `FetchResponse.partitionResponse(tp, error)`): no offsets,
 * and an empty record set, not a null one, which librdkafka 2.0 cannot parse (it retries in a tight loop).
 * A read_committed fetch gets an empty list of aborted transactions: KafkaJS expects a list there.
 */
export function emptyFetchPartition(partitionIndex: number, errorCode: number, isolationLevel: number) {
  return errorEntry(FETCH_PARTITION, errorCode, { partitionIndex, abortedTransactions: isolationLevel === 0 ? null : [] });
}

/**
 * AddPartitionsToTxn (v0-3) answering every partition of the request with `errorCode`, or with
 * `errorCode(topicIndex)` for the request's topic at that index. Those versions have no top-level error
 * code, so an error of the whole request is every partition's, as Kafka's
 * `AddPartitionsToTxnRequest.getErrorResponse` answers it; an empty result would tell the client that
 * nothing failed.
 */
export function addPartitionsToTxnErrorResponse(
  request: AddPartitionsToTxnRequest,
  errorCode: number | ((topicIndex: number) => number),
): AddPartitionsToTxnResponse {
  const codeOf = typeof errorCode === 'number' ? () => errorCode : errorCode;
  return {
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: (request.v3AndBelowTopics ?? []).map((topic, i) => {
      const partitionErrorCode = codeOf(i);
      return { name: topic.name, resultsByPartition: topic.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode })) };
    }),
  };
}

/**
 * TxnOffsetCommit answering every partition of the request with `errorCode`: it has no top-level
 * error code either (Kafka's `TxnOffsetCommitRequest.getErrorResponse`).
 */
export function txnOffsetCommitErrorResponse(request: TxnOffsetCommitRequest, errorCode: number): TxnOffsetCommitResponse {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
  };
}

/**
 * Each struct's no-value entry, worked out once: the scalars in a template copied by a spread (one
 * hidden class, V8's fast clone: a fetch answers every partition through here), and the arrays and
 * nested structs, which each entry gets fresh.
 */
const templates = new WeakMap<StructDef, { readonly scalars: object; readonly fresh: readonly (readonly [string, () => unknown])[] }>();

function emptyStruct(struct: StructDef): Record<string, unknown> {
  let template = templates.get(struct);
  if (template === undefined) {
    const scalars: Record<string, unknown> = {};
    const fresh: [string, () => unknown][] = [];
    for (const [name, def] of Object.entries(struct)) {
      if (def.tag !== undefined) continue;
      const type = def.type;
      if ('default' in def || typeof type === 'string') {
        scalars[name] = noValue(def);
        continue;
      }
      // Listed in the template too, in declaration order, so that every entry has one hidden class.
      scalars[name] = undefined;
      const nested = 'array' in type ? undefined : type.struct;
      fresh.push([name, nested === undefined ? () => [] : () => emptyStruct(nested)]);
    }
    template = { scalars, fresh };
    templates.set(struct, template);
  }
  const entry: Record<string, unknown> = { ...template.scalars };
  for (const [name, make] of template.fresh) entry[name] = make();
  return entry;
}

/** The no-value of a field with a default or of a scalar type. */
function noValue(def: FieldDef): unknown {
  if ('default' in def) return def.default;
  switch (def.type) {
    case 'bool':
      return false;
    case 'int64':
      return -1n;
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return NO_BYTES;
    case 'uuid':
      return ZERO_UUID;
    // Unsigned and floating fields name no offset or id that −1 could stand for.
    case 'uint16':
    case 'uint32':
    case 'float64':
      return 0;
    default:
      return -1;
  }
}
