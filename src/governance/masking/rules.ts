import { createHmac } from 'node:crypto';
import type { PathTarget } from './path.js';

/**
 * What a masking policy does to a field it selects (docs/governance/masking.md#rules):
 *
 *   mask           every character becomes `*` ("4111111111111111" → "****************")
 *   keep-first N   the first N characters stay, the rest become `*`
 *   keep-last N    the last N stay ("****************1111" style); a value of N characters or fewer
 *                  is masked whole, so that a short value (a PIN, a 4-digit code) is never shown in full
 *   hash           HMAC-SHA-256 with the policy's key, as 64 hex digits: equal inputs give equal
 *                  outputs under one policy (joins and counts still work), and without the key (a broker
 *                  secret) nobody can test a guess against them
 *   redact         the field is removed (an array element is taken out of its array)
 *   null           the field is kept with the value null
 *
 * Characters are Unicode code points, so "José" masks to four stars and an emoji to one. Numbers,
 * big integers and booleans are masked as their text (the result is a string); bytes (Avro `bytes`,
 * Protobuf `bytes`) are masked byte by byte with `*` (0x2A), hashed to the 32 digest bytes, so they stay
 * bytes. A rule other than redact and null given an object or array applies to every scalar inside it,
 * keeping its shape. null stays null under mask, keep and hash: it hides nothing.
 *
 * A masked value of another type than the schema wants (a string where an Avro `int` was) cannot be
 * encoded back: the record is then masked whole (fail closed, ./record-masker.ts).
 */
export type MaskRule =
  | { readonly kind: 'mask' }
  | { readonly kind: 'keep-first'; readonly n: number }
  | { readonly kind: 'keep-last'; readonly n: number }
  | { readonly kind: 'hash' }
  | { readonly kind: 'redact' }
  | { readonly kind: 'null' };

/** Largest N of keep-first and keep-last: a rule that shows more is no longer masking. */
export const MAX_KEEP = 64;

const RULE = /^(mask|hash|redact|null|keep-first|keep-last)(?:[ :](\d{1,3}))?$/;

/** `mask`, `keep-last 4` (or `keep-last:4`, handier in a shell), `hash`, `redact`, `null`; or why not. */
export function parseRule(text: string): MaskRule | { readonly error: string } {
  const m = RULE.exec(text.trim());
  const usage = 'a rule is mask, keep-first N, keep-last N, hash, redact or null';
  if (m === null) return { error: `unknown rule ${JSON.stringify(text.slice(0, 64))}: ${usage}` };
  const kind = m[1] as MaskRule['kind'];
  const n = m[2] === undefined ? undefined : Number(m[2]);
  if (kind === 'keep-first' || kind === 'keep-last') {
    if (n === undefined || n < 1 || n > MAX_KEEP) return { error: `${kind} needs a count N from 1 to ${MAX_KEEP} ("${kind} 4")` };
    return { kind, n };
  }
  if (n !== undefined) return { error: `${kind} takes no count: ${usage}` };
  return { kind };
}

/** The rule as `parseRule` reads it back. */
export function ruleText(rule: MaskRule): string {
  return rule.kind === 'keep-first' || rule.kind === 'keep-last' ? `${rule.kind} ${rule.n}` : rule.kind;
}

const STAR = 0x2a;

function maskString(s: string, rule: MaskRule): string {
  const chars = Array.from(s);
  const count = chars.length;
  if (rule.kind === 'keep-first' && count > rule.n) return chars.slice(0, rule.n).join('') + '*'.repeat(count - rule.n);
  if (rule.kind === 'keep-last' && count > rule.n) return '*'.repeat(count - rule.n) + chars.slice(count - rule.n).join('');
  return '*'.repeat(count);
}

function maskBytes(b: Uint8Array, rule: MaskRule): Buffer {
  const out = Buffer.alloc(b.length, STAR);
  if (rule.kind === 'keep-first' && b.length > rule.n) out.set(b.subarray(0, rule.n), 0);
  if (rule.kind === 'keep-last' && b.length > rule.n) out.set(b.subarray(b.length - rule.n), b.length - rule.n);
  return out;
}

/** A scalar under mask, keep-first, keep-last or hash; containers are walked by the caller. */
function maskScalar(value: unknown, rule: MaskRule, hashKey: Buffer): unknown {
  if (value === null || value === undefined) return value;
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return rule.kind === 'hash' ? createHmac('sha256', hashKey).update(bytes).digest() : maskBytes(bytes, rule);
  }
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') text = String(value);
  // A symbol or a function cannot come out of a decoder; anything else is not shown.
  else text = '';
  return rule.kind === 'hash' ? createHmac('sha256', hashKey).update(text, 'utf8').digest('hex') : maskString(text, rule);
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v);
}

/**
 * Applies the rule to every scalar of `root`, in place, without recursion (a deep document cannot
 * exhaust the stack); returns the new root.
 */
function maskTree(root: unknown, rule: MaskRule, hashKey: Buffer): unknown {
  if (!isContainer(root)) return maskScalar(root, rule, hashKey);
  const pending: (Record<string, unknown> | unknown[])[] = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (isContainer(v)) pending.push(v);
        else node[i] = maskScalar(v, rule, hashKey);
      }
    } else {
      for (const k of Object.keys(node)) {
        const v = node[k];
        if (isContainer(v)) pending.push(v);
        else node[k] = maskScalar(v, rule, hashKey);
      }
    }
  }
  return root;
}

/** Applies `rule` at one place a path selected. */
export function applyRule(target: PathTarget, rule: MaskRule, hashKey: Buffer): void {
  if (Array.isArray(target.container)) {
    const list = target.container;
    const i = target.key as number;
    if (rule.kind === 'redact') list.splice(i, 1);
    else list[i] = rule.kind === 'null' ? null : maskTree(list[i], rule, hashKey);
    return;
  }
  const object = target.container;
  const key = target.key;
  if (rule.kind === 'redact') Reflect.deleteProperty(object, key);
  else object[key] = rule.kind === 'null' ? null : maskTree(object[key], rule, hashKey);
}
