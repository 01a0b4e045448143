import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Admin, Consumer, MessagesStreamModes, ProduceAcks, Producer, type BaseOptions } from '#platformatic-kafka';
import { clientSettingsFiles, clientSettingsFilesIn } from '../../../src/client/client-settings.js';
import { ok, parapet } from '../../helpers/admin-cli.js';
import { createTopic } from '../../helpers/client.js';
import { startSecureBroker } from '../../helpers/secure-broker.js';
import { authenticationFailures, describeEvents, logins } from '../security-support.js';

/**
 * The "@platformatic/kafka" section of the JSON client settings, spread as it is into the options of
 * its Producer, Consumer and Admin (plus the clientId they require): for the admin `parapet init`
 * made, for a user made by `parapet user add` whose name and password need escaping, and after
 * `parapet user passwd`. The other clients: client-settings.test.ts.
 */

type Section = Omit<BaseOptions, 'clientId'>;

/** As the docs use it: `{ ...JSON.parse(readFileSync(f, 'utf8'))['@platformatic/kafka'], clientId }`. */
function section(jsonFile: string): Section {
  return (JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, Section>)['@platformatic/kafka'] as Section;
}

const TOPIC = 'settings';

describe('client settings with @platformatic/kafka', () => {
  it('the init admin, and a user from parapet user add, produce and consume with the section; after passwd the old one is refused', { timeout: 60_000 }, async (t) => {
    const b = await startSecureBroker(t);
    await createTopic(b.adminProperties, [TOPIC]);
    const flags = ['--data-dir', b.dataDir];

    const admin = new Admin({ ...section(b.adminClientFiles.json), clientId: 'pf-settings-admin', retries: 0 });
    try {
      assert.ok((await admin.listTopics()).includes(TOPIC));
    } finally {
      await admin.close();
    }

    const name = `zoë o'brien "q"\\x`;
    const out = join(b.dataDir, 'tricky.properties');
    ok(await parapet(['user', 'add', name, '--password-stdin', '--out', out, ...flags], `p"a\\ss'wörd=;#/*x 😀\n`));
    ok(await parapet(['acl', 'add', '--principal', `User:${name}`, '--allow', '--operation', 'READ,WRITE', '--topic', TOPIC, ...flags]));
    ok(await parapet(['acl', 'add', '--principal', `User:${name}`, '--allow', '--operation', 'READ', '--group', 'pf-', '--prefixed', ...flags]));
    const files = clientSettingsFiles(out);

    const producer = new Producer({ ...section(files.json), clientId: 'pf-settings-producer', retries: 0 });
    try {
      await producer.send({ messages: [{ topic: TOPIC, partition: 0, value: Buffer.from('from platformatic') }], acks: ProduceAcks.ALL });
    } finally {
      await producer.close();
    }
    const consumer = new Consumer({ ...section(files.json), clientId: 'pf-settings-consumer', groupId: 'pf-settings' });
    try {
      const stream = await consumer.consume({ topics: [TOPIC], mode: MessagesStreamModes.EARLIEST, sessionTimeout: 6000, heartbeatInterval: 200, maxWaitTime: 100 });
      const value = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error('nothing consumed'));
        }, 15_000);
        stream.on('error', reject);
        stream.on('data', (m) => {
          clearTimeout(timer);
          resolve(m.value.toString());
        });
      });
      assert.equal(value, 'from platformatic');
      await stream.close();
    } finally {
      await consumer.close();
    }
    assert.ok(logins(b.events, `User:${name}`).length >= 2, describeEvents(b.events));

    // passwd: the rewritten section logs in, a copy of the old one is refused.
    ok(await parapet(['user', 'add', 'bob', ...flags]));
    const bob = clientSettingsFilesIn(join(b.dataDir, 'client'), 'bob');
    mkdirSync(join(b.dataDir, 'old'), { mode: 0o700 });
    const oldJson = join(b.dataDir, 'old', 'bob.json');
    copyFileSync(bob.json, oldJson);
    ok(await parapet(['user', 'passwd', 'bob', ...flags]));
    const fresh = new Admin({ ...section(bob.json), clientId: 'pf-settings-bob', retries: 0 });
    try {
      await fresh.listTopics();
    } finally {
      await fresh.close();
    }
    const stale = new Admin({ ...section(oldJson), clientId: 'pf-settings-bob-old', retries: 0 });
    try {
      await assert.rejects(stale.listTopics());
    } finally {
      await stale.close();
    }
    const failed = authenticationFailures(b.events).filter((e) => e.claimedUser === 'bob');
    assert.ok(failed.length >= 1 && failed.every((e) => e.reason === 'BAD_CREDENTIALS'), describeEvents(b.events));
    assert.equal(logins(b.events, 'User:bob').length >= 1, true);
  });
});
