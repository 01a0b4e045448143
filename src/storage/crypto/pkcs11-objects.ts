import pkcs11js from 'pkcs11js';
import type { Handle, Template } from 'pkcs11js';
import type { TokenSession } from './pkcs11-session.js';

/**
 * The objects the pkcs11 KEK provider keeps in a token, all token objects, private (seen only after
 * login: names carry topic ids) and labelled `parapet:…`:
 *  - `parapet:<name>:v<version>`, a KEK version: an AES-256 secret key generated in the token,
 *    sensitive and never extractable, with the label's bytes as CKA_ID;
 *  - `parapet:<name>:v<version>:created`, a data object (application `parapet`) holding the version's
 *    creation time in ms as decimal ASCII, because a key's own CKA_START_DATE has only the day;
 *  - `parapet:<name>:destroyed`, a data object marking a crypto-shredded name, so that "destroyed"
 *    (the data is gone on purpose) stays distinguishable from "missing" (a token that lost keys).
 * A name may itself contain colons (`topic:<id>`): labels are parsed from their ends.
 */

const APPLICATION = 'parapet';

export const keyLabel = (name: string, version: number): string => `parapet:${name}:v${version}`;
export const createdLabel = (name: string, version: number): string => `${keyLabel(name, version)}:created`;
export const destroyedLabel = (name: string): string => `parapet:${name}:destroyed`;
const KEY_LABEL = /^parapet:(.+):v([1-9][0-9]*)$/;
const CREATED_LABEL = /^(parapet:.+:v[1-9][0-9]*):created$/;
const DESTROYED_LABEL = /^parapet:(.+):destroyed$/;

export interface KeyVersion {
  readonly key: Handle;
  readonly record: Handle | undefined;
  /** 0 when the version has no `created` record (made by another tool). */
  readonly createdMs: number;
}

export interface NameState {
  /** The `destroyed` mark, once there is one. */
  destroyed: Handle | undefined;
  readonly versions: Map<number, KeyVersion>;
}

/** Every name with `parapet:` objects in the token, its versions and its destroyed mark, with their handles. */
export function readObjects(token: TokenSession): Map<string, NameState> {
  const names = new Map<string, NameState>();
  const state = (name: string): NameState => {
    let s = names.get(name);
    if (s === undefined) names.set(name, (s = { destroyed: undefined, versions: new Map() }));
    return s;
  };
  const label = (h: Handle): string => token.read(h, pkcs11js.CKA_LABEL)[0]?.toString('utf8') ?? '';

  const created = new Map<string, { record: Handle; createdMs: number }>();
  for (const record of token.find([
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
    { type: pkcs11js.CKA_APPLICATION, value: APPLICATION },
  ])) {
    const text = label(record);
    const destroyed = DESTROYED_LABEL.exec(text)?.[1];
    const createdKey = CREATED_LABEL.exec(text)?.[1];
    if (destroyed !== undefined) state(destroyed).destroyed = record;
    else if (createdKey !== undefined) {
      created.set(createdKey, { record, createdMs: Number(token.read(record, pkcs11js.CKA_VALUE)[0]?.toString('ascii')) || 0 });
    }
  }
  for (const key of token.find([
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
  ])) {
    const text = label(key);
    const [, name, version] = KEY_LABEL.exec(text) ?? [];
    if (name === undefined || version === undefined) continue;
    const record = created.get(text);
    state(name).versions.set(Number(version), { key, record: record?.record, createdMs: record?.createdMs ?? 0 });
  }
  return names;
}

/** A KEK version to generate with CKM_AES_KEY_GEN: it can encrypt and decrypt, and nothing can take it out. */
export function keyTemplate(label: string): Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    // Sensitive and never extractable: the token refuses to reveal the key, even wrapped under another.
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: Buffer.from(label, 'utf8') },
  ];
}

/** A `created` record or a `destroyed` mark. */
export function dataObject(label: string, value: Buffer): Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_APPLICATION, value: APPLICATION },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_VALUE, value },
  ];
}
