import protobuf from 'protobufjs';
import type { ParsedSchema } from './format.js';
import { buildProtoFile, type ProtoFile } from './protobuf.js';

/**
 * Protobuf compatibility: whether a reader with `reader` decodes what `writer` wrote, field by field
 * number, as Confluent's registry checks it (docs.confluent.io/platform/current/schema-registry/fundamentals/schema-evolution.html,
 * its Protobuf rules) on the wire rules of protobuf's "Updating a message type"
 * (protobuf.dev/programming-guides/proto3/#updating). Each problem is one sentence naming it:
 * - syntax changed (proto2 ↔ proto3 changes presence and enum semantics);
 * - package changed (every message is renamed), a message of the writer's file removed;
 * - a field number whose type changed to one of another wire-compatible group: {int32, uint32, int64,
 *   uint64, bool, enum}, {sint32, sint64}, {fixed32, sfixed32}, {fixed64, sfixed64}, {string, bytes},
 *   {float}, {double}; a message or enum field whose type is another named type;
 * - a field turned from singular to repeated or back, except for string, bytes and messages (where the
 *   guide makes them compatible), a map turned into something else or back;
 * - a proto2 required field added (the reader refuses data without it) or removed (the writer's
 *   contract; Confluent refuses both);
 * - oneofs: a member removed from its oneof, a field moved into a oneof the writer already had, several
 *   fields moved into one new oneof (a writer may set them all; the reader keeps one).
 * Fields are matched by number (names are not on the wire); a field only the writer has is skipped by
 * the reader, one only the reader has is absent (unless required). Only the messages of the schema's own
 * file are compared: imported ones are their own subjects' business, referenced here by name.
 */

const GROUPS: Readonly<Record<string, string>> = {
  int32: 'varint', uint32: 'varint', int64: 'varint', uint64: 'varint', bool: 'varint',
  sint32: 'zigzag', sint64: 'zigzag',
  fixed32: 'fixed32', sfixed32: 'fixed32',
  fixed64: 'fixed64', sfixed64: 'fixed64',
  string: 'length', bytes: 'length',
  float: 'float', double: 'double',
};

/** The field's type as compared: a scalar's group, `enum`, or the message's full name. */
function typeClass(field: protobuf.Field): { group: string; name: string } {
  field.resolve();
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return { group: `message ${resolved.fullName.slice(1)}`, name: resolved.fullName.slice(1) };
  if (resolved instanceof protobuf.Enum) return { group: 'varint', name: `enum ${resolved.fullName.slice(1)}` };
  return { group: GROUPS[field.type] ?? field.type, name: field.type };
}

/** The oneof a field is in, not counting proto3 `optional`'s synthetic one. */
function oneofOf(field: protobuf.Field): string | undefined {
  if (field.partOf === null || field.options?.proto3_optional === true) return undefined;
  return field.partOf.name;
}

/** The file's own messages (nested ones too), as resolved in its root with its imports. */
function allMessages(file: ProtoFile): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type) {
        const resolved = file.root.lookup(child.fullName);
        if (resolved instanceof protobuf.Type) out.push(resolved);
      }
      if (child instanceof protobuf.Namespace) walk(child);
    }
  };
  walk(file.own);
  return out;
}

function compareFields(name: string, r: protobuf.Field, w: protobuf.Field, problems: string[]): void {
  const where = `${name}.${r.name} (field ${r.id})`;
  const rType = typeClass(r);
  const wType = typeClass(w);
  if (r.map !== w.map) {
    problems.push(`${where}: ${w.map ? 'a map became a non-map field' : 'became a map'}, a change of kind`);
    return;
  }
  if (r instanceof protobuf.MapField && w instanceof protobuf.MapField) {
    if ((GROUPS[r.keyType] ?? r.keyType) !== (GROUPS[w.keyType] ?? w.keyType)) problems.push(`${where}: the map key type changed from ${w.keyType} to ${r.keyType}`);
  }
  if (rType.group !== wType.group) {
    const named = rType.group.startsWith('message') || wType.group.startsWith('message') || rType.name.startsWith('enum') !== wType.name.startsWith('enum');
    if (named && rType.group.startsWith('message') && wType.group.startsWith('message')) problems.push(`${where}: the message type changed from ${wType.name} to ${rType.name}`);
    else problems.push(`${where}: the type changed from ${wType.name} to ${rType.name}, which the writer's bytes do not decode as`);
  } else if (rType.name.startsWith('enum ') && wType.name.startsWith('enum ') && rType.name !== wType.name) {
    problems.push(`${where}: the enum type changed from ${wType.name.slice(5)} to ${rType.name.slice(5)}`);
  }
  if (!r.map && r.repeated !== w.repeated && rType.group !== 'length' && !rType.group.startsWith('message')) {
    problems.push(`${where}: changed from ${w.repeated ? 'repeated' : 'singular'} to ${r.repeated ? 'repeated' : 'singular'}, which only string, bytes and message fields may`);
  }
  if (r.required && !w.required) problems.push(`${where}: a required field the writer did not require`);
  if (!r.required && w.required) problems.push(`${where}: was required and no longer is`);
}

function compareMessages(r: protobuf.Type, w: protobuf.Type, problems: string[]): void {
  const name = w.fullName.slice(1);
  const readerById = new Map(r.fieldsArray.map((f) => [f.id, f]));
  const writerById = new Map(w.fieldsArray.map((f) => [f.id, f]));
  for (const wf of w.fieldsArray) {
    const rf = readerById.get(wf.id);
    if (rf === undefined) {
      if (wf.required) problems.push(`${name}.${wf.name} (field ${wf.id}): a required field was removed`);
      const oneof = oneofOf(wf);
      if (oneof !== undefined) problems.push(`${name}.${wf.name} (field ${wf.id}): was removed from oneof ${oneof}`);
      continue;
    }
    compareFields(name, rf, wf, problems);
  }
  for (const rf of r.fieldsArray) if (!writerById.has(rf.id) && rf.required) problems.push(`${name}.${rf.name} (field ${rf.id}): a required field the writer does not have`);
  // Fields the writer had outside any oneof, now in one.
  const writerOneofs = new Set(w.fieldsArray.map(oneofOf).filter((o) => o !== undefined));
  const moved = new Map<string, string[]>();
  for (const rf of r.fieldsArray) {
    const oneof = oneofOf(rf);
    const wf = writerById.get(rf.id);
    if (oneof === undefined || wf === undefined || oneofOf(wf) !== undefined) continue;
    if (writerOneofs.has(oneof)) problems.push(`${name}.${rf.name} (field ${rf.id}): moved into the existing oneof ${oneof}`);
    else moved.set(oneof, [...(moved.get(oneof) ?? []), rf.name]);
  }
  for (const [oneof, fields] of moved) if (fields.length > 1) problems.push(`${name}: fields ${fields.join(', ')} moved into the new oneof ${oneof}, where the writer may have set them all`);
}

export function protobufReaderProblems(reader: ParsedSchema, writer: ParsedSchema): string[] {
  const r = buildProtoFile(reader.schema, reader.references);
  const w = buildProtoFile(writer.schema, writer.references);
  if ('error' in r) return [`the reader schema is invalid: ${r.error}`];
  if ('error' in w) return [`the writer schema is invalid: ${w.error}`];
  const problems: string[] = [];
  if (r.syntax !== w.syntax) problems.push(`the syntax changed from ${w.syntax} to ${r.syntax}`);
  if (r.package !== w.package) {
    problems.push(`the package changed from ${w.package || '(none)'} to ${r.package || '(none)'}, renaming every message`);
    return problems;
  }
  for (const wm of allMessages(w)) {
    const rm = r.root.lookup(wm.fullName);
    if (!(rm instanceof protobuf.Type)) problems.push(`message ${wm.fullName.slice(1)} was removed`);
    else compareMessages(rm, wm, problems);
  }
  return problems;
}
