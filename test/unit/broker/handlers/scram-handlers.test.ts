import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alterUserScramCredentialsHandler } from '../../../../src/broker/handlers/alter-user-scram-credentials.js';
import { describeUserScramCredentialsHandler } from '../../../../src/broker/handlers/describe-user-scram-credentials.js';
import type { ScramCredentialChangeEvent } from '../../../../src/broker/handlers/scram-credentials.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { AlterUserScramCredentials, type AlterUserScramCredentialsResponse } from '../../../../src/protocol/messages/alter-user-scram-credentials.js';
import {
  DescribeUserScramCredentials,
  type DescribeUserScramCredentialsResponse,
} from '../../../../src/protocol/messages/describe-user-scram-credentials.js';
import type { ApiSchema } from '../../../../src/protocol/messages/schema.js';
import { CredentialStore, type CredentialPersistence } from '../../../../src/security/credentials/credential-store.js';
import { saltedPassword } from '../../../../src/security/credentials/scram-keys.js';
import type { StoredScramCredential } from '../../../../src/storage/metadata-store.js';
import { handleOverWire, testRequestContext } from '../../../helpers/request-context.js';

const SHA256 = 1;
const SHA512 = 2;

function memoryPersistence(): CredentialPersistence & { rows: Map<string, StoredScramCredential> } {
  const rows = new Map<string, StoredScramCredential>();
  const key = (user: string, mechanism: string) => `${user}\u0000${mechanism}`;
  const sorted = () => [...rows.values()].sort((a, b) => (a.user === b.user ? a.mechanism.localeCompare(b.mechanism) : a.user.localeCompare(b.user)));
  return {
    rows,
    scramCredential: (user, mechanism) => rows.get(key(user, mechanism)),
    scramCredentials: (users) => (users === null ? sorted() : users.flatMap((u) => sorted().filter((r) => r.user === u))),
    alterScramCredentials: (changes) => {
      const existed = changes.deletions.map((d) => rows.delete(key(d.user, d.mechanism)));
      for (const u of changes.upsertions) rows.set(key(u.user, u.mechanism), u);
      return existed;
    },
  };
}

type Body = Record<string, unknown>;

function harness() {
  const persistence = memoryPersistence();
  const credentials = new CredentialStore({ store: persistence });
  const events: ScramCredentialChangeEvent[] = [];
  const entries = [describeUserScramCredentialsHandler(credentials), alterUserScramCredentialsHandler({ credentials, onChange: (e) => events.push(e) })];
  const call = (api: ApiSchema, body: Body): Promise<Body> => handleOverWire(entries, api, 0, body, { connectionId: 8, clientId: 'admin' });
  const alter = async (body: { deletions?: Body[]; upsertions?: Body[] }) =>
    (await call(AlterUserScramCredentials, { deletions: body.deletions ?? [], upsertions: body.upsertions ?? [] })) as AlterUserScramCredentialsResponse;
  const describeUsers = async (users: string[] | null) =>
    (await call(DescribeUserScramCredentials, { users: users === null ? null : users.map((name) => ({ name })) })) as DescribeUserScramCredentialsResponse;
  return { persistence, credentials, events, alter, describeUsers };
}

const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');

/** What a client sends for `password`: Hi(password, salt, i), never the password. */
const upsertion = (name: string, over: Body = {}): Body => {
  const mechanism = (over.mechanism as number | undefined) ?? SHA256;
  const iterations = (over.iterations as number | undefined) ?? 4096;
  return {
    name,
    mechanism,
    iterations,
    salt: SALT,
    saltedPassword: saltedPassword(mechanism === SHA512 ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256', 'pencil', SALT, iterations),
    ...over,
  };
};

const byUser = (results: readonly { user: string; errorCode: number }[]) => Object.fromEntries(results.map((r) => [r.user, r.errorCode]));

describe('AlterUserScramCredentials', () => {
  it('stores the keys derived from the salted password (RFC 7677 vector) and reports success', async () => {
    const { credentials, alter } = harness();
    const response = await alter({ upsertions: [upsertion('user')] });
    assert.deepEqual(response.results, [{ user: 'user', errorCode: 0, errorMessage: null }]);
    const stored = credentials.scram('user', 'SCRAM-SHA-256');
    assert.equal(stored?.storedKey.toString('base64'), 'WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=');
    assert.equal(stored.serverKey.toString('base64'), 'wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=');
    assert.deepEqual(stored.salt, SALT);
    assert.equal(stored.iterations, 4096);
  });

  it('wipes the salted password in the request once the keys are derived, and keeps no view of the request', async () => {
    const credentials = new CredentialStore({ store: memoryPersistence() });
    const entry = alterUserScramCredentialsHandler({ credentials });
    const salt = Buffer.from(SALT);
    const salted = saltedPassword('SCRAM-SHA-256', 'pencil', salt, 4096);
    const context = testRequestContext({ header: { apiKey: 51, apiVersion: 0, correlationId: 1, clientId: 'test' }, listener: { host: '127.0.0.1', port: 9092 }, connectionId: 1, clientHost: '/127.0.0.1' });
    const body = { deletions: [], upsertions: [{ name: 'u', mechanism: SHA256, iterations: 4096, salt, saltedPassword: salted }] };
    await entry.handle(body, context);
    assert.ok(salted.every((byte) => byte === 0));
    salt.fill(0);
    const stored = credentials.scram('u', 'SCRAM-SHA-256');
    assert.equal(stored?.storedKey.toString('base64'), 'WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=');
    assert.deepEqual(stored.salt, SALT);
  });

  it('refuses unknown mechanisms (33) and unacceptable credentials (93), storing nothing for them', async () => {
    const { persistence, alter } = harness();
    const response = await alter({
      deletions: [{ name: 'del-unknown', mechanism: 9 }],
      upsertions: [
        upsertion('unknown', { mechanism: 0 }),
        upsertion('few', { iterations: 4095 }),
        upsertion('many', { iterations: 16385 }),
        upsertion('', {}),
        upsertion('nosalt', { salt: Buffer.alloc(0) }),
        upsertion('nopass', { saltedPassword: Buffer.alloc(0) }),
        upsertion('shortpass', { saltedPassword: Buffer.alloc(16, 1) }),
        upsertion('max', { iterations: 16384, mechanism: SHA512 }),
      ],
    });
    assert.deepEqual(byUser(response.results), {
      'del-unknown': ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      unknown: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      few: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      many: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      '': ErrorCode.UNACCEPTABLE_CREDENTIAL,
      nosalt: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      nopass: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      shortpass: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      max: ErrorCode.NONE,
    });
    assert.ok(response.results.filter((r) => r.errorCode !== 0).every((r) => (r.errorMessage ?? '').length > 0), 'every refusal says why');
    assert.deepEqual([...persistence.rows.values()].map((r) => `${r.user}/${r.mechanism}`), ['max/SCRAM-SHA-512']);
  });

  it('refuses a salt under 16 bytes or over 1024, and a credential for the empty password, with 93', async () => {
    const { persistence, alter } = harness();
    const salted = (salt: Buffer, password = 'pencil') => saltedPassword('SCRAM-SHA-256', password, salt, 4096);
    const one = Buffer.from([7]);
    const fifteen = Buffer.alloc(15, 7);
    const huge = Buffer.alloc(1025, 7);
    const response = await alter({
      upsertions: [
        upsertion('one-byte', { salt: one, saltedPassword: salted(one) }),
        upsertion('fifteen', { salt: fifteen, saltedPassword: salted(fifteen) }),
        upsertion('huge', { salt: huge, saltedPassword: salted(huge) }),
        upsertion('empty-password', { saltedPassword: salted(SALT, '') }),
        upsertion('empty-512', { mechanism: SHA512, saltedPassword: saltedPassword('SCRAM-SHA-512', '', SALT, 4096) }),
        upsertion('sixteen', { salt: Buffer.alloc(16, 7), saltedPassword: salted(Buffer.alloc(16, 7)) }),
      ],
    });
    assert.deepEqual(byUser(response.results), {
      'one-byte': ErrorCode.UNACCEPTABLE_CREDENTIAL,
      fifteen: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      huge: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      'empty-password': ErrorCode.UNACCEPTABLE_CREDENTIAL,
      'empty-512': ErrorCode.UNACCEPTABLE_CREDENTIAL,
      sixteen: ErrorCode.NONE,
    });
    assert.match(response.results.find((r) => r.user === 'empty-password')?.errorMessage ?? '', /empty password/);
    assert.match(response.results.find((r) => r.user === 'one-byte')?.errorMessage ?? '', /at least 16 bytes/);
    assert.deepEqual([...persistence.rows.values()].map((r) => r.user), ['sixteen']);
  });

  it('refuses names the user-name rule refuses, and a new name that differs from a user only by case or Unicode form', async () => {
    const { persistence, alter } = harness();
    assert.equal((await alter({ upsertions: [upsertion('admin'), upsertion('straße')] })).results.every((r) => r.errorCode === 0), true);
    const names = ['*', 'ANONYMOUS', 'anonymous', 'User:admin', 'Admin', 'ＡＤＭＩＮ', 'admin ', 'admin\u200b', 'a\nb', 'x'.repeat(256), 'STRASSE'];
    const response = await alter({ upsertions: names.map((n) => upsertion(n)) });
    assert.deepEqual(
      response.results.map((r) => [r.user, r.errorCode]),
      names.map((n) => [n, ErrorCode.UNACCEPTABLE_CREDENTIAL]),
    );
    assert.match(response.results.find((r) => r.user === 'Admin')?.errorMessage ?? '', /too similar to the existing user "admin"/);
    // The existing user itself may still change its password; two new look-alikes in one request may not both be created.
    const again = await alter({ upsertions: [upsertion('admin', { iterations: 8192 }), upsertion('bob'), upsertion('BOB', { mechanism: SHA512 })] });
    assert.deepEqual(byUser(again.results), { admin: ErrorCode.NONE, bob: ErrorCode.NONE, BOB: ErrorCode.UNACCEPTABLE_CREDENTIAL });
    assert.deepEqual([...new Set([...persistence.rows.values()].map((r) => r.user))].sort(), ['admin', 'bob', 'straße']);
  });

  it('deletes a credential; deleting one that does not exist is RESOURCE_NOT_FOUND', async () => {
    const { credentials, alter } = harness();
    await alter({ upsertions: [upsertion('alice'), upsertion('bob', { mechanism: SHA512 })] });
    const response = await alter({ deletions: [{ name: 'alice', mechanism: SHA256 }, { name: 'bob', mechanism: SHA256 }, { name: 'ghost', mechanism: SHA512 }] });
    assert.deepEqual(byUser(response.results), { alice: 0, bob: ErrorCode.RESOURCE_NOT_FOUND, ghost: ErrorCode.RESOURCE_NOT_FOUND });
    assert.equal(credentials.scram('alice', 'SCRAM-SHA-256'), undefined);
    assert.ok(credentials.scram('bob', 'SCRAM-SHA-512') !== undefined, 'the other mechanism is untouched');
  });

  it('a user in two operations of one request gets one DUPLICATE_RESOURCE and no change; the others proceed', async () => {
    const { credentials, alter } = harness();
    await alter({ upsertions: [upsertion('carol')] });
    const response = await alter({
      deletions: [{ name: 'carol', mechanism: SHA256 }],
      upsertions: [upsertion('carol', { mechanism: SHA512 }), upsertion('dave'), upsertion('dave', { mechanism: SHA512 }), upsertion('erin', { iterations: 8192 }), upsertion('dave')],
    });
    assert.deepEqual(response.results.map((r) => [r.user, r.errorCode]), [
      ['carol', ErrorCode.DUPLICATE_RESOURCE],
      ['dave', ErrorCode.DUPLICATE_RESOURCE],
      ['erin', 0],
    ]);
    assert.ok(credentials.scram('carol', 'SCRAM-SHA-256') !== undefined, 'not deleted');
    assert.equal(credentials.scram('carol', 'SCRAM-SHA-512'), undefined, 'not added');
    assert.equal(credentials.scram('dave', 'SCRAM-SHA-256'), undefined);
    assert.equal(credentials.scram('erin', 'SCRAM-SHA-256')?.iterations, 8192);
  });

  it('reports changes to onChange with users, mechanisms and iterations only; nothing when nothing changed', async () => {
    const { events, alter } = harness();
    await alter({ deletions: [{ name: 'ghost', mechanism: SHA256 }], upsertions: [upsertion('x', { iterations: 1 })] });
    assert.equal(events.length, 0);
    await alter({ upsertions: [upsertion('alice', { iterations: 5000 })] });
    await alter({ deletions: [{ name: 'alice', mechanism: SHA256 }], upsertions: [upsertion('bob', { mechanism: SHA512 })] });
    assert.deepEqual(
      events.map((e) => ({ action: e.action, upserted: e.upserted, deleted: e.deleted, connection: e.context.connectionId })),
      [
        { action: 'alter-user-scram-credentials', upserted: [{ user: 'alice', mechanism: 'SCRAM-SHA-256', iterations: 5000 }], deleted: [], connection: 8 },
        { action: 'alter-user-scram-credentials', upserted: [{ user: 'bob', mechanism: 'SCRAM-SHA-512', iterations: 4096 }], deleted: [{ user: 'alice', mechanism: 'SCRAM-SHA-256' }], connection: 8 },
      ],
    );
  });
});

describe('DescribeUserScramCredentials', () => {
  async function seeded() {
    const h = harness();
    await h.alter({ upsertions: [upsertion('alice'), upsertion('bob', { mechanism: SHA512, iterations: 10000 })] });
    await h.alter({ upsertions: [upsertion('alice', { mechanism: SHA512, iterations: 8192 })] });
    return h;
  }

  it('null and empty lists describe every user: mechanism codes and iterations, no salts or keys', async () => {
    const { describeUsers } = await seeded();
    for (const users of [null, []]) {
      const response = await describeUsers(users);
      assert.equal(response.errorCode, 0);
      assert.deepEqual(response.results, [
        { user: 'alice', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: SHA256, iterations: 4096 }, { mechanism: SHA512, iterations: 8192 }] },
        { user: 'bob', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: SHA512, iterations: 10000 }] },
      ]);
    }
  });

  it('named users: found, RESOURCE_NOT_FOUND when unknown, DUPLICATE_RESOURCE when named twice; one result each', async () => {
    const { describeUsers } = await seeded();
    const response = await describeUsers(['bob', 'nobody', 'alice', 'alice']);
    assert.equal(response.errorCode, 0);
    assert.deepEqual(response.results.map((r) => [r.user, r.errorCode, r.credentialInfos.length]), [
      ['bob', 0, 1],
      ['nobody', ErrorCode.RESOURCE_NOT_FOUND, 0],
      ['alice', ErrorCode.DUPLICATE_RESOURCE, 0],
    ]);
    assert.match(response.results[1]?.errorMessage ?? '', /nobody/);
  });

  it('a deleted credential is no longer described', async () => {
    const { alter, describeUsers } = await seeded();
    await alter({ deletions: [{ name: 'bob', mechanism: SHA512 }] });
    assert.equal((await describeUsers(['bob'])).results[0]?.errorCode, ErrorCode.RESOURCE_NOT_FOUND);
    assert.deepEqual((await describeUsers(null)).results.map((r) => r.user), ['alice']);
  });
});
