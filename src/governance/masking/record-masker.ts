import type { SchemaLookup } from '../../schemas/types.js';
import { readWireFormat, writeWireFormat } from '../../schemas/wire-format.js';
import { eachTarget } from './path.js';
import type { AppliedField } from './policy.js';
import { applyRule } from './rules.js';

/**
 * Masks one record key or value (docs/governance/masking.md#what-a-restricted-consumer-sees):
 *
 * - with Confluent's wire-format header (magic 0, schema id): decoded by the registered schema
 *   (`SchemaLookup.compiled(id).decode`), masked, encoded back by the same schema, behind the same header;
 *   only `CompiledSchema` is used, so JSON Schema, Avro and Protobuf work alike;
 * - without one: parsed as UTF-8 JSON, masked, written back as JSON (white space and the spelling of
 *   numbers may change, their values do not);
 * - anything else fails closed: the caller replaces it whole, it is never sent as it was.
 */

/** Why a key or value could not be masked field by field (the value of the `parapet.masked` header). */
export type FailReason =
  | 'not-json'
  | 'imprecise-number'
  | 'no-schema-registry'
  | 'unknown-schema'
  | 'decode-failed'
  | 'encode-failed'
  | 'policy-not-applicable';

export type MaskOutcome =
  /** No field the policies name is there: the bytes are sent as they are. */
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'masked'; readonly bytes: Buffer }
  | { readonly kind: 'failed'; readonly reason: FailReason };

const UNCHANGED: MaskOutcome = Object.freeze({ kind: 'unchanged' });
const fail = (reason: FailReason): MaskOutcome => ({ kind: 'failed', reason });

/** Strict UTF-8: a payload with invalid bytes is not JSON (decoding it loosely would change it). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Applies the fields to a decoded value; returns the new root, or `unchanged` when no path matched. */
function applyFields(root: unknown, fields: readonly AppliedField[]): { changed: boolean; value: unknown } {
  const holder: Record<string, unknown> = { v: root };
  let changed = false;
  for (const f of fields) {
    eachTarget(holder, 'v', f.segments, (target) => {
      changed = true;
      applyRule(target, f.rule, f.hashKey);
    });
  }
  // `$` redacted: the whole value is gone; JSON null says so where a field could not be removed.
  return { changed, value: Object.prototype.hasOwnProperty.call(holder, 'v') ? holder.v : null };
}

export function maskPayload(bytes: Buffer, fields: readonly AppliedField[], lookup: SchemaLookup | undefined): MaskOutcome {
  if (fields.length === 0) return UNCHANGED;
  const framed = readWireFormat(bytes);
  if (framed.kind === 'framed') return maskFramed(framed.schemaId, framed.payload, fields, lookup);
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    // Not UTF-8, not JSON, or nested deeper than the parser's stack.
    return fail('not-json');
  }
  const { changed, value } = applyFields(parsed, fields);
  if (!changed) return UNCHANGED;
  if (hasImpreciseNumber(text)) return fail('imprecise-number');
  let out: string;
  try {
    out = JSON.stringify(value);
  } catch {
    return fail('encode-failed');
  }
  return { kind: 'masked', bytes: Buffer.from(out, 'utf8') };
}

function maskFramed(schemaId: number, payload: Buffer, fields: readonly AppliedField[], lookup: SchemaLookup | undefined): MaskOutcome {
  if (lookup === undefined) return fail('no-schema-registry');
  const compiled = lookup.compiled(schemaId);
  if ('error' in compiled) return fail('unknown-schema');
  let decoded;
  try {
    decoded = compiled.decode(payload);
  } catch {
    return fail('decode-failed');
  }
  const { changed, value } = applyFields(decoded.value, fields);
  if (!changed) return UNCHANGED;
  // JSON Schema payloads are JSON text, written back by JSON.stringify: the same precision check as plain JSON.
  if (compiled.schemaType === 'JSON' && hasImpreciseNumber(payload.toString('utf8'))) return fail('imprecise-number');
  try {
    const encoded = compiled.encode(decoded.messageIndexes === undefined ? { value } : { value, messageIndexes: decoded.messageIndexes });
    return { kind: 'masked', bytes: writeWireFormat(schemaId, encoded) };
  } catch {
    // The masked value no longer fits the schema (a string where a number was, a required field
    // redacted): the record is masked whole rather than sent as it was.
    return fail('encode-failed');
  }
}

/**
 * Cheap first look: only a run of 16+ digits or a 3-digit exponent can lose anything in a double. A run
 * right after a quote or a word character is not a JSON number's start (a card number in a string is the
 * common case, and would cost every record the full scan below); one after a space inside a string still
 * takes the scan, which tells strings apart.
 */
const SUSPECT = /(?<![\w"])\d{16,}|\d[eE][+-]?\d{3}/;

/**
 * Whether a number of the JSON text would not be written back as the same value: more than 15
 * significant digits (a double keeps 15 exactly: an id like 12345678901234567890 would come back
 * rounded), or an exponent that overflows to Infinity or underflows to 0. Such a record is masked
 * whole rather than sent changed. Strings are skipped, so a card number in quotes is no reason.
 */
export function hasImpreciseNumber(text: string): boolean {
  if (!SUSPECT.test(text)) return false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, over escapes.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let digits = 0;
      let leading = true;
      let nonZero = false;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) {
          if (d !== 0x30) {
            leading = false;
            nonZero = true;
          }
          if (!leading) digits++;
        } else if (d === 0x65 || d === 0x45) {
          // The exponent: its digits are not significant ones.
          for (i++; i < n && /[-+0-9]/.test(text[i] as string); i++);
          break;
        } else if (d !== 0x2e && d !== 0x2d) {
          break;
        }
      }
      const token = text.slice(start, i);
      i--;
      const value = Number(token);
      if (digits > 15 || !Number.isFinite(value) || (value === 0 && nonZero)) return true;
    }
  }
  return false;
}
