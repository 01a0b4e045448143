import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { clientSettingsFiles, clientSettingsFilesIn, type ClientSettingsFiles } from '../../src/client/client-settings.js';
import { ok, parapet } from '../helpers/admin-cli.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { python } from './support.js';
import { authenticationFailures, describeEvents, kcat, logins } from './security-support.js';

/**
 * The client settings files Parapet writes, used exactly as the docs say, by real clients against a
 * broker set up by `parapet init` (SASL_SSL, the init CA, deny by default): `kcat -F <user>.properties`,
 * and each section of `<user>.json` passed as it is to KafkaJS, kafka-python and confluent-kafka. Users
 * are made by `parapet user add` and changed by `parapet user passwd`, run in-process as the CLI runs
 * them. (@platformatic/kafka's section: client-settings-platformatic.test.ts. Java's file is checked
 * with the JDK's parsers in the unit tests: Kafka's Java client cannot be installed here.)
 */

const TOPIC = 'settings';
const GROUP_PREFIX = 'cs-';

/** A name and a password that need quoting or escaping in some format: quotes, backslash, spaces, unicode. */
const TRICKY_USER = `zoë o'brien "q"\\x`;
const TRICKY_PASSWORD = `p"a\\ss'wörd=;#/*x 😀`;

/** Produces one value and reads the partition back, with both Python clients, each from its section of the JSON file. */
const PYTHON_PRODUCE_CONSUME = String.raw`
import json, sys, time
from kafka import KafkaConsumer, KafkaProducer
from confluent_kafka import Consumer, Producer

job = json.load(sys.stdin)
f, topic, group = job['file'], job['topic'], job['group']
out = {}

# kafka-python: the section as keyword arguments, as it is.
p = KafkaProducer(**json.load(open(f))['kafka-python'])
p.send(topic, b'from kafka-python', partition=0).get(timeout=10)
p.close()
c = KafkaConsumer(topic, group_id=group + 'py', auto_offset_reset='earliest', **json.load(open(f))['kafka-python'])
seen, deadline = [], time.time() + 20
while b'from kafka-python' not in seen and time.time() < deadline:
    for records in c.poll(timeout_ms=500).values():
        seen += [r.value for r in records]
c.close()
out['kafka-python'] = [v.decode() for v in seen]

# confluent-kafka: the section as the config dict, as it is.
p = Producer(json.load(open(f))['confluent-kafka'])
p.produce(topic, b'from confluent-kafka', partition=0)
assert p.flush(10) == 0
c = Consumer({**json.load(open(f))['confluent-kafka'], 'group.id': group + 'ck', 'auto.offset.reset': 'earliest'})
c.subscribe([topic])
seen, deadline = [], time.time() + 20
while b'from confluent-kafka' not in seen and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        seen.append(m.value())
c.close()
out['confluent-kafka'] = [v.decode() for v in seen]
print(json.dumps(out))
`;

/** Logs in with both Python clients from the JSON file's sections: "ok" or the error each reported. */
const PYTHON_LOGIN = String.raw`
import json, sys
from kafka import KafkaConsumer
from confluent_kafka.admin import AdminClient

job = json.load(sys.stdin)
f = job['file']
out = {}
try:
    c = KafkaConsumer(**json.load(open(f))['kafka-python'])
    c.topics()
    c.close()
    out['kafka-python'] = 'ok'
except Exception as e:
    out['kafka-python'] = type(e).__name__ + ': ' + str(e)

errors = []
conf = {**json.load(open(f))['confluent-kafka'], 'error_cb': lambda e: errors.append(e.name())}
admin = AdminClient(conf)
try:
    admin.list_topics(timeout=5)
    out['confluent-kafka'] = 'ok'
except Exception as e:
    admin.poll(1)  # serves error_cb, which names the authentication failure
    out['confluent-kafka'] = ' '.join(errors) or str(e)
print(json.dumps(out))
`;

type PythonOutcome = Record<'kafka-python' | 'confluent-kafka', string[]>;
type LoginOutcome = Record<'kafka-python' | 'confluent-kafka', string>;

/** The KafkaJS section of a settings file, as the docs use it: `new Kafka(JSON.parse(readFileSync(f, 'utf8')).kafkajs)`. */
function kafkaJs(jsonFile: string): Kafka {
  const section = (JSON.parse(readFileSync(jsonFile, 'utf8')) as { kafkajs: KafkaConfig }).kafkajs;
  // Quiet logs and no retries (a refused login fails at once); the connection settings are the file's.
  return new Kafka({ ...section, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

async function kafkaJsProduceConsume(jsonFile: string, group: string): Promise<string[]> {
  const kafka = kafkaJs(jsonFile);
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic: TOPIC, messages: [{ value: 'from kafkajs', partition: 0 }] });
  } finally {
    await producer.disconnect();
  }
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  const seen: string[] = [];
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`kafkajs saw only ${JSON.stringify(seen)}`));
      }, 20_000);
      consumer
        .run({
          eachMessage: ({ message }) => {
            seen.push(message.value?.toString() ?? '');
            if (seen.includes('from kafkajs')) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

async function kafkaJsLogin(jsonFile: string): Promise<string> {
  const admin = kafkaJs(jsonFile).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return 'ok';
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } finally {
    await admin.disconnect();
  }
}

/** Produces with `kcat -F`, then reads partition 0 from the beginning. */
async function kcatProduceConsume(propertiesFile: string): Promise<string[]> {
  const produced = await kcat(['-F', propertiesFile, '-P', '-t', TOPIC, '-p', '0', '-X', 'acks=all'], { input: Buffer.from('from kcat\n') });
  assert.equal(produced.code, 0, produced.stderr);
  const consumed = await kcat(['-F', propertiesFile, '-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q']);
  assert.equal(consumed.code, 0, consumed.stderr);
  return consumed.stdout.toString('utf8').split('\n').filter((l) => l !== '');
}

/** Every client logs in with its file: "ok" or what it reported. */
async function loginsWith(files: ClientSettingsFiles): Promise<Record<string, string>> {
  const listed = await kcat(['-F', files.properties, '-L', '-m', '5']);
  const python3 = JSON.parse(await python(PYTHON_LOGIN, { input: JSON.stringify({ file: files.json }), timeoutMs: 60_000 })) as LoginOutcome;
  return {
    kcat: listed.code === 0 ? 'ok' : listed.stderr,
    kafkajs: await kafkaJsLogin(files.json),
    ...python3,
  };
}

const ALL_OK = { kcat: 'ok', kafkajs: 'ok', 'kafka-python': 'ok', 'confluent-kafka': 'ok' };

/** `parapet user add` as an operator runs it, then the ACLs a producing and group-consuming application needs. */
async function addUser(b: SecureBroker, name: string, extra: readonly string[] = [], stdin = ''): Promise<void> {
  const flags = ['--data-dir', b.dataDir];
  ok(await parapet(['user', 'add', name, ...extra, ...flags], stdin));
  ok(await parapet(['acl', 'add', '--principal', `User:${name}`, '--allow', '--operation', 'READ,WRITE', '--topic', TOPIC, ...flags]));
  ok(await parapet(['acl', 'add', '--principal', `User:${name}`, '--allow', '--operation', 'READ', '--group', GROUP_PREFIX, '--prefixed', ...flags]));
}

/** Every client produces and consumes with its own file or section; each sees what it wrote, and kcat then sees all four. */
async function produceAndConsumeWithEveryClient(files: ClientSettingsFiles, group: string): Promise<void> {
  assert.ok((await kcatProduceConsume(files.properties)).includes('from kcat'));
  const py = JSON.parse(await python(PYTHON_PRODUCE_CONSUME, { input: JSON.stringify({ file: files.json, topic: TOPIC, group }), timeoutMs: 90_000 })) as PythonOutcome;
  assert.ok(py['kafka-python'].includes('from kafka-python'), JSON.stringify(py));
  assert.ok(py['confluent-kafka'].includes('from confluent-kafka'), JSON.stringify(py));
  assert.ok((await kafkaJsProduceConsume(files.json, `${group}js`)).includes('from kafkajs'));
  const all = await kcatProduceConsume(files.properties);
  for (const value of ['from kcat', 'from kafka-python', 'from confluent-kafka', 'from kafkajs']) assert.ok(all.includes(value), `${value} in ${JSON.stringify(all)}`);
}

describe('client settings with real clients', () => {
  it('the admin files parapet init wrote work as they are with kcat, KafkaJS, kafka-python and confluent-kafka', async (t) => {
    const b = await startSecureBroker(t);
    assert.deepEqual(b.adminClientFiles, clientSettingsFilesIn(join(b.dataDir, 'client'), 'admin'));
    assert.deepEqual(await loginsWith(b.adminClientFiles), ALL_OK);
    // Each client logged in as the admin with SCRAM-SHA-512, the mechanism the files name.
    const admin = logins(b.events, 'User:admin');
    assert.ok(admin.length >= 4 && admin.every((l) => l.mechanism === 'SCRAM-SHA-512'), describeEvents(b.events));
    // The admin may also create topics through the KafkaJS section.
    const kafkaAdmin = kafkaJs(b.adminClientFiles.json).admin();
    await kafkaAdmin.connect();
    try {
      assert.equal(await kafkaAdmin.createTopics({ topics: [{ topic: 'made-by-kafkajs', numPartitions: 1 }] }), true);
    } finally {
      await kafkaAdmin.disconnect();
    }
  });

  it('users made by parapet user add produce and consume with every format, a generated login and one that needs escaping', async (t) => {
    const b = await startSecureBroker(t);
    await createTopic(b.adminProperties, [TOPIC]);

    await addUser(b, 'alice');
    await produceAndConsumeWithEveryClient(clientSettingsFilesIn(join(b.dataDir, 'client'), 'alice'), `${GROUP_PREFIX}alice-`);

    const out = join(b.dataDir, 'tricky.properties');
    await addUser(b, TRICKY_USER, ['--password-stdin', '--out', out], `${TRICKY_PASSWORD}\n`);
    await produceAndConsumeWithEveryClient(clientSettingsFiles(out), `${GROUP_PREFIX}tricky-`);
    const tricky = logins(b.events, `User:${TRICKY_USER}`);
    assert.ok(tricky.length >= 4, describeEvents(b.events));
  });

  it('after parapet user passwd every format carries the new password, and the old files are refused', async (t) => {
    const b = await startSecureBroker(t);
    await addUser(b, 'bob');
    const files = clientSettingsFilesIn(join(b.dataDir, 'client'), 'bob');
    const old = clientSettingsFilesIn(join(b.dataDir, 'old'), 'bob');
    mkdirSync(join(b.dataDir, 'old'), { mode: 0o700 });
    for (const key of ['properties', 'javaProperties', 'json'] as const) copyFileSync(files[key], old[key]);

    ok(await parapet(['user', 'passwd', 'bob', '--data-dir', b.dataDir]));
    assert.deepEqual(await loginsWith(files), ALL_OK);
    const refused = await loginsWith(old);
    assert.match(refused.kcat ?? '', /Authentication failed/, refused.kcat);
    assert.match(refused.kafkajs ?? '', /KafkaJSSASLAuthenticationError/, refused.kafkajs);
    // kafka-python only says NoBrokersAvailable: the broker's log says why.
    assert.match(refused['kafka-python'] ?? '', /NoBrokersAvailable/, refused['kafka-python']);
    const failed = authenticationFailures(b.events).filter((e) => e.claimedUser === 'bob');
    assert.ok(failed.length >= 4 && failed.every((e) => e.reason === 'BAD_CREDENTIALS'), describeEvents(b.events));
    assert.match(refused['confluent-kafka'] ?? '', /_AUTHENTICATION/, refused['confluent-kafka']);

    // The admin's own files follow `user passwd admin` the same way: the new ones work, and the command reads them.
    ok(await parapet(['user', 'passwd', 'admin', '--data-dir', b.dataDir]));
    assert.deepEqual(await loginsWith(b.adminClientFiles), ALL_OK);
    // The broker's admin endpoint is on a free port here: `user list` asks it for the disabled principals.
    ok(await parapet(['user', 'list', '--data-dir', b.dataDir, ...(b.broker.adminUrl === undefined ? [] : ['--admin-url', b.broker.adminUrl])]));
  });
});
