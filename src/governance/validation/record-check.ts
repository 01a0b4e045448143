import { PayloadError, type CompiledSchema, type SchemaLookup } from '../../schemas/types.js';
import { readWireFormat } from '../../schemas/wire-format.js';
import type { SubjectNameStrategy, TopicValidation } from './settings.js';

/**
 * The check of one serialized key or value of a produced record (docs/governance/validation.md#what-is-checked).
 * It never reads or quotes the payload beyond its 5-byte header, except to hand it to the schema's
 * decoder under `schema.validation=payload`; messages name the schema id, the subject and the
 * format's own message (which, by the PayloadError contract, says where and why, not what).
 */

export type RecordSide = 'key' | 'value';

/** Why a record is refused: the label of the refused-records counter. */
export const REFUSAL_REASONS = ['no-header', 'unknown-id', 'wrong-subject', 'no-record-name', 'schema-unavailable', 'bad-payload', 'unreadable'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface SideRefusal {
  readonly reason: RefusalReason;
  readonly message: string;
}

/** A message from elsewhere (a format, the registry) is cut here: it goes into every refusal. */
const MAX_DETAIL_CHARS = 300;

function cut(text: string): string {
  return text.length <= MAX_DETAIL_CHARS ? text : `${text.slice(0, MAX_DETAIL_CHARS)}…`;
}

/**
 * The subject a record's schema is looked up under (Confluent's SubjectNameStrategy implementations):
 * TopicNameStrategy `<topic>-key` / `<topic>-value`; RecordNameStrategy the record type's fully
 * qualified name; TopicRecordNameStrategy `<topic>-<record name>`.
 */
export function subjectName(strategy: SubjectNameStrategy, topic: string, side: RecordSide, recordName: string | undefined): string | null {
  if (strategy === 'TopicNameStrategy') return `${topic}-${side}`;
  if (recordName === undefined) return null;
  return strategy === 'RecordNameStrategy' ? recordName : `${topic}-${recordName}`;
}

/**
 * Why the key or value `bytes` is refused, or null when it passes. A null key or value passes: null is
 * what Confluent's serializers write for null (no schema is involved), and a null value is a tombstone,
 * which compacted topics need to delete a key.
 */
export function checkSerialized(bytes: Buffer | null, side: RecordSide, topic: string, validation: TopicValidation, lookup: SchemaLookup): SideRefusal | null {
  const strategy = side === 'key' ? validation.key : validation.value;
  if (strategy === null || bytes === null) return null;
  const framed = readWireFormat(bytes);
  if (framed.kind === 'unframed') return { reason: 'no-header', message: `${side} has no schema registry wire-format header: ${framed.reason}` };
  const id = framed.schemaId;
  let compiled: CompiledSchema | undefined;
  const compile = (): CompiledSchema | SideRefusal => {
    if (compiled !== undefined) return compiled;
    const got = lookup.compiled(id);
    if ('error' in got) return { reason: 'schema-unavailable', message: `${side} names schema id ${id}, which cannot be used: ${cut(got.error)}` };
    compiled = got;
    return got;
  };
  let subject: string | null;
  if (strategy === 'TopicNameStrategy') {
    subject = subjectName(strategy, topic, side, undefined);
  } else {
    if (lookup.schemaById(id) === undefined) return { reason: 'unknown-id', message: `${side} names schema id ${id}, which is not registered` };
    const got = compile();
    if (!('id' in got)) return got;
    subject = subjectName(strategy, topic, side, got.recordName);
    if (subject === null) return { reason: 'no-record-name', message: `${side} names schema id ${id}, which has no record name for ${strategy}` };
  }
  if (subject === null) return null;
  if (!lookup.subjectHasId(subject, id)) {
    if (lookup.schemaById(id) === undefined) return { reason: 'unknown-id', message: `${side} names schema id ${id}, which is not registered (subject ${subject})` };
    return { reason: 'wrong-subject', message: `${side} names schema id ${id}, which is not a live version of subject ${subject}` };
  }
  if (validation.depth !== 'payload') return null;
  const schema = compile();
  if (!('id' in schema)) return schema;
  try {
    schema.decode(framed.payload);
  } catch (err) {
    // A decoder that throws anything else is a bug of its own; the record is refused all the same (fail
    // closed), without its message, which nothing promises is free of the payload.
    const why = err instanceof PayloadError ? cut(err.message) : 'the decoder failed';
    return { reason: 'bad-payload', message: `${side} does not match schema id ${id} (subject ${subject}): ${why}` };
  }
  return null;
}
