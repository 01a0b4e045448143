import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_RESOURCE_NAME,
  CONCRETE_ACL_OPERATIONS,
  PatternType,
  ResourceType,
  aclOperationApplies,
  aclOperationName,
  aclPermissionTypeName,
  impliedOperations,
  parseAclOperation,
  parseAclPermissionType,
  parsePatternType,
  parseResourceType,
  patternTypeName,
  resourceTypeName,
} from '../../../src/protocol/acl.js';
import { readNotes, referenceSkip } from '../../helpers/reference.js';

/** The notes' "**ACL enums:**" line, read at test time (test/helpers/reference.ts). */
function aclEnumsLine(): string {
  const line = readNotes()
    .split('\n')
    .find((l) => l.startsWith('**ACL enums:**'));
  assert.ok(line !== undefined, 'ACL enums line not found in the notes');
  return line;
}

/** `resource 1 ANY, 2 TOPIC · pattern … · permission 2 DENY, 3 ALLOW. <prose>` → enum → name → code. */
function notesEnums(): Map<string, Map<string, number>> {
  const enums = new Map<string, Map<string, number>>();
  const segments = aclEnumsLine().replace('**ACL enums:**', '').split('·');
  for (const segment of segments) {
    const text = segment.split('. ')[0] ?? '';
    const kind = /^\s*(\w+)/.exec(text)?.[1];
    assert.ok(kind !== undefined, `segment without a name: ${segment}`);
    const values = new Map<string, number>();
    for (const m of text.matchAll(/\b(\d+) ([A-Z][A-Z_]*)\b/g)) values.set(m[2] ?? '', Number(m[1]));
    enums.set(kind, values);
  }
  return enums;
}

const ours = {
  resource: ResourceType,
  pattern: PatternType,
  operation: AclOperation,
  permission: AclPermissionType,
} as const satisfies Record<string, Readonly<Record<string, number>>>;

describe('ACL enums', () => {
  it('use 0 for UNKNOWN and Kafka codes beyond the notes', () => {
    for (const table of Object.values(ours)) assert.equal(table.UNKNOWN, 0);
    assert.equal(AclOperation.CREATE_TOKENS, 13);
    assert.equal(AclOperation.DESCRIBE_TOKENS, 14);
  });

  it('name the cluster resource kafka-cluster', () => {
    assert.equal(CLUSTER_RESOURCE_NAME, 'kafka-cluster');
  });

  it('look names up both ways', () => {
    assert.equal(resourceTypeName(2), 'TOPIC');
    assert.equal(patternTypeName(4), 'PREFIXED');
    assert.equal(aclOperationName(10), 'DESCRIBE_CONFIGS');
    assert.equal(aclPermissionTypeName(2), 'DENY');
    assert.equal(resourceTypeName(99), undefined);
    for (const [kind, table] of Object.entries(ours)) {
      const name = { resource: resourceTypeName, pattern: patternTypeName, operation: aclOperationName, permission: aclPermissionTypeName }[kind];
      const parse = { resource: parseResourceType, pattern: parsePatternType, operation: parseAclOperation, permission: parseAclPermissionType }[kind];
      assert.ok(name !== undefined && parse !== undefined);
      for (const [n, code] of Object.entries(table)) {
        assert.equal(name(code), n);
        assert.equal(parse(n), code);
        assert.equal(parse(n.toLowerCase()), code);
      }
    }
  });

  it('parse case-insensitively and accept Kafka CLI spellings', () => {
    assert.equal(parseAclOperation('DescribeConfigs'), AclOperation.DESCRIBE_CONFIGS);
    assert.equal(parseAclOperation('idempotent-write'), AclOperation.IDEMPOTENT_WRITE);
    assert.equal(parseAclOperation(' Read '), AclOperation.READ);
    assert.equal(parseResourceType('TransactionalId'), ResourceType.TRANSACTIONAL_ID);
    assert.equal(parseResourceType('transactional_id'), ResourceType.TRANSACTIONAL_ID);
    assert.equal(parsePatternType('Prefixed'), PatternType.PREFIXED);
    assert.equal(parseAclPermissionType('allow'), AclPermissionType.ALLOW);
    for (const junk of ['', 'READS', 'constructor', '__proto__', 'toString', '3']) {
      assert.equal(parseAclOperation(junk), undefined, junk);
    }
  });
});

describe('ACL operation implications', () => {
  const { ALL, READ, WRITE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, CREATE, ANY, UNKNOWN } = AclOperation;
  const { ALLOW, DENY } = AclPermissionType;

  it('grant exactly the operation plus its implications', () => {
    for (const op of [READ, WRITE, DELETE, ALTER]) assert.deepEqual(impliedOperations(op), new Set([op, DESCRIBE]));
    assert.deepEqual(impliedOperations(ALTER_CONFIGS), new Set([ALTER_CONFIGS, DESCRIBE_CONFIGS]));
    assert.deepEqual(impliedOperations(CREATE), new Set([CREATE]));
    assert.deepEqual(impliedOperations(DESCRIBE), new Set([DESCRIBE]));
    assert.equal(impliedOperations(ANY).size, 0);
    assert.equal(impliedOperations(UNKNOWN).size, 0);
  });

  it('let ALL match every operation', () => {
    assert.deepEqual(impliedOperations(ALL), new Set(CONCRETE_ACL_OPERATIONS));
    assert.equal(CONCRETE_ACL_OPERATIONS.length, 13);
    for (const op of CONCRETE_ACL_OPERATIONS) {
      assert.ok(aclOperationApplies(ALL, ALLOW, op), `ALLOW ALL applies to ${op}`);
      assert.ok(aclOperationApplies(ALL, DENY, op), `DENY ALL applies to ${op}`);
    }
  });

  it('imply only for ALLOW: a DENY binding denies its own operation alone', () => {
    assert.ok(aclOperationApplies(READ, ALLOW, DESCRIBE));
    assert.ok(!aclOperationApplies(READ, DENY, DESCRIBE));
    assert.ok(aclOperationApplies(READ, DENY, READ));
    assert.ok(!aclOperationApplies(DESCRIBE, ALLOW, READ), 'DESCRIBE does not imply READ');
    assert.ok(!aclOperationApplies(WRITE, ALLOW, READ));
    assert.ok(!aclOperationApplies(ALL, ALLOW, ANY), 'a request never needs ANY');
    assert.ok(!aclOperationApplies(ALL, DENY, UNKNOWN));
    assert.ok(!aclOperationApplies(READ, AclPermissionType.ANY, READ));
  });
});

// One skip line when the notes are absent (test/helpers/reference.ts).
describe('ACL enums and implications against the protocol notes', { skip: referenceSkip }, () => {
  it('enums match every value the notes list', () => {
    const enums = notesEnums();
    assert.deepEqual([...enums.keys()].sort(), Object.keys(ours).sort());
    const expectedCounts: Record<string, number> = { resource: 7, pattern: 4, operation: 12, permission: 2 };
    let checked = 0;
    for (const [kind, values] of enums) {
      assert.equal(values.size, expectedCounts[kind], `values parsed for ${kind}`);
      const table: Readonly<Record<string, number>> = ours[kind as keyof typeof ours];
      for (const [name, code] of values) {
        assert.equal(table[name], code, `${kind} ${name}`);
        checked++;
      }
    }
    assert.equal(checked, 25);
  });

  it('name the cluster resource as the notes do', () => {
    assert.match(aclEnumsLine(), new RegExp(`cluster resource name \`${CLUSTER_RESOURCE_NAME}\``));
  });

  it('operation implications follow the rules stated in the notes', () => {
    const line = aclEnumsLine();
    const rules = [...line.matchAll(/([A-Z_]+(?:\/[A-Z_]+)*) impl(?:y|ies) ([A-Z_]+)/g)];
    assert.equal(rules.length, 2, 'implication sentences in the notes');
    for (const [, from = '', to = ''] of rules) {
      const implied = parseAclOperation(to);
      assert.ok(implied !== undefined, to);
      for (const op of from.split('/')) {
        const code = parseAclOperation(op);
        assert.ok(code !== undefined, op);
        assert.ok(impliedOperations(code).has(implied), `${op} implies ${to}`);
      }
    }
  });
});
