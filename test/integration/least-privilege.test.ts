import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MATCH_ALL_ACLS, formatAclBinding, type AclBinding } from '../../src/client/admin.js';
import { AclOperation, AclPermissionType, CLUSTER_RESOURCE_NAME, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { CLI, runParapet } from '../helpers/cli-process.js';
import { python } from '../interop/support.js';
import { kcat, writeProperties } from '../interop/security-support.js';
import { startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';
import { until } from './session-support.js';

/**
 * The least-privilege advisor end to end (issue 16, docs/security/least-privilege.md): a user with broad
 * grants produces to `orders.eu` and consumes it in group `billing` with kcat and confluent-kafka (the
 * latter as an idempotent producer); the broker records every decision; `parapet acl advise` proposes
 * what the clients needed and nothing else; `parapet access review` shows the unused grant; the
 * observations survive a restart; `--apply` leaves the user with exactly the proposal, and both clients
 * still work.
 *
 * What the clients really asked for (recorded, shown in `advise --json`):
 *   Metadata, ListOffsets, OffsetFetch          DESCRIBE on TOPIC orders.eu
 *   Produce                                      WRITE on TOPIC orders.eu
 *   Fetch, OffsetCommit                          READ on TOPIC orders.eu
 *   FindCoordinator, OffsetFetch                 DESCRIBE on GROUP billing
 *   JoinGroup, SyncGroup, Heartbeat, OffsetCommit, LeaveGroup   READ on GROUP billing
 *   InitProducerId (confluent-kafka, enable.idempotence)        IDEMPOTENT_WRITE on the CLUSTER, which the
 *     user had, so Kafka's first check let it through
 * READ and WRITE imply DESCRIBE, and WRITE on a topic lets an idempotent producer in (KIP-679), so the
 * proposal is WRITE and READ on the topic and READ on the group: exactly the issue's expectation.
 * Metadata requests also probe auto-creation (CREATE), which needs nothing and is not proposed.
 */

const USER = 'billing-app';
const PASSWORD = `billing-${randomBytes(8).toString('hex')}`;
const TOPIC = 'orders.eu';
const GROUP = 'billing';
const { TOPIC: T, GROUP: G, CLUSTER: C } = ResourceType;

const grant = (resourceType: ResourceType, resourceName: string, operation: AclOperation, patternType: PatternType = PatternType.LITERAL): Omit<AclBinding, 'principal'> => ({
  resourceType,
  resourceName,
  patternType,
  host: '*',
  operation,
  permission: AclPermissionType.ALLOW,
});

const BROAD = [
  grant(T, '*', AclOperation.ALL),
  grant(G, '*', AclOperation.ALL),
  grant(C, CLUSTER_RESOURCE_NAME, AclOperation.IDEMPOTENT_WRITE),
  // Never used: what `access review` and the advisor's `-` lines must show.
  grant(T, 'payments', AclOperation.READ),
];

const SCRIPT = String.raw`
import json, sys, time
from confluent_kafka import Producer, Consumer
job = json.load(sys.stdin)
conf = {'bootstrap.servers': job['bootstrap'], 'security.protocol': 'SASL_SSL', 'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': job['user'], 'sasl.password': job['password'], 'ssl.ca.location': job['cafile']}
reports = []
p = Producer(dict(conf, **{'enable.idempotence': True, 'linger.ms': 5, 'message.timeout.ms': 10000}))
for v in job['values']:
    p.produce(job['topic'], value=v.encode(), on_delivery=lambda err, msg: reports.append(None if err is None else err.name()))
    p.poll(0)
p.flush(15)
c = Consumer(dict(conf, **{'group.id': job['group'], 'auto.offset.reset': 'earliest', 'enable.auto.commit': False}))
c.subscribe([job['topic']])
got, errors = set(), []
deadline = time.time() + 20
while not set(job['values']) <= got and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        errors.append(m.error().name())
        continue
    got.add(m.value().decode())
c.commit(asynchronous=False)
c.close()
print(json.dumps({'reports': reports, 'got': sorted(got & set(job['values'])), 'errors': errors}))
`;

interface Running {
  readonly broker: BrokerProcess;
  readonly adminUrl: string;
  /** The CLI's connection flags for this broker (its port changes at each start). */
  readonly cli: readonly string[];
  readonly userConfig: string;
}

async function running(broker: BrokerProcess): Promise<Running> {
  await until(() => /admin endpoint: http:\/\/\S+\/metrics/.test(broker.output()), 'the admin endpoint line');
  const adminUrl = /admin endpoint: (http:\/\/\S+)\/metrics/.exec(broker.output())?.[1] ?? '';
  const userConfig = writeProperties(join(broker.dataDir, 'client', `${USER}-${broker.port}.properties`), {
    'bootstrap.servers': broker.bootstrap,
    'security.protocol': 'SASL_SSL',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': USER,
    'sasl.password': PASSWORD,
    'ssl.ca.location': broker.caFile,
  });
  return { broker, adminUrl, cli: ['--data-dir', broker.dataDir, '--bootstrap', broker.bootstrap, '--admin-url', adminUrl], userConfig };
}

/** kcat produces three records, then consumes them in the group; confluent-kafka does the same as an idempotent producer. */
async function useTheClients(r: Running, tag: string): Promise<void> {
  const kcatValues = [1, 2, 3].map((i) => `kcat-${tag}-${i}`);
  const produced = await kcat(['-F', r.userConfig, '-P', '-t', TOPIC], { input: Buffer.from(`${kcatValues.join('\n')}\n`) });
  assert.equal(produced.code, 0, produced.stderr);
  const consumed = await kcat(['-F', r.userConfig, '-G', GROUP, '-o', 'beginning', '-e', '-f', '%s\\n', TOPIC], { timeoutMs: 30_000 });
  assert.equal(consumed.code, 0, consumed.stderr);
  const lines = consumed.stdout.toString('utf8').split('\n');
  for (const v of kcatValues) assert.ok(lines.includes(v), `kcat consumed ${v}: ${lines.join(',')} ${consumed.stderr}`);
  const values = [1, 2, 3].map((i) => `cf-${tag}-${i}`);
  const out = JSON.parse(await python(SCRIPT, { input: JSON.stringify({ bootstrap: r.broker.bootstrap, user: USER, password: PASSWORD, cafile: r.broker.caFile, topic: TOPIC, group: GROUP, values }) })) as {
    reports: (string | null)[];
    got: string[];
    errors: string[];
  };
  assert.deepEqual(out.reports, [null, null, null], 'every confluent-kafka delivery succeeded');
  assert.deepEqual(out.got, values);
}

interface AdviceJson {
  allowed: { operation: string; resourceType: string; resourceName: string; scope: string; count: number; lastSeen: string }[];
  denied: unknown[];
  proposal: { operation: string; resourceType: string; resourceName: string; patternType: string; permission: string; host: string }[];
  flagged: unknown[];
  notes: string[];
  changes: { add: { operation: string }[]; remove: { operation: string; resourceType: string; resourceName: string; why: string }[] };
}

async function adviceJson(r: Running): Promise<AdviceJson> {
  const out = await runParapet(['acl', 'advise', '--principal', USER, '--json', ...r.cli]);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout) as AdviceJson;
}

const short = (b: { operation: string; resourceType: string; resourceName: string; patternType?: string }) => `${b.operation} ${b.resourceType} ${b.resourceName}${b.patternType === undefined ? '' : ` ${b.patternType}`}`;

const PROPOSAL = ['READ TOPIC orders.eu LITERAL', 'WRITE TOPIC orders.eu LITERAL', 'READ GROUP billing LITERAL'];

describe('the least-privilege advisor with kcat and confluent-kafka', () => {
  it('explains a mistake in how it is called before connecting anywhere (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['acl', 'advise'], /give --principal, e\.g\. User:alice/],
      [['acl', 'advise', '--principal', 'app', '--since', '5x'], /--since must be a duration such as 30d/],
      [['acl', 'advise', '--principal', 'User:*'], /User:\* is every principal/],
      [['acl', 'advise', '--principal', 'app', '--yes'], /--yes goes with --apply/],
      [['access', 'review', '--unused-days', '0'], /--unused-days must be an integer from 1 to 3650/],
      [['access', 'review', '--format', 'xml'], /Allowed choices are text, csv, json/],
    ];
    for (const [args, message] of cases) {
      const out = await runParapet([...args, '--data-dir', '/nonexistent-parapet-dir']);
      assert.equal(out.code, 2, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, message);
    }
  });

  it('proposes exactly WRITE and READ on orders.eu and READ on billing; review shows the unused grant; restart keeps it; --apply leaves exactly that and the clients still work', async (t) => {
    const first = await running(await startBrokerProcess(t, { configYaml: 'groupInitialRebalanceDelayMs: 0' }));
    const admin = await first.broker.admin();
    for (const name of [TOPIC, 'orders.us', 'payments']) await admin.createTopic(name, 1);
    await first.broker.addUser(USER, PASSWORD, BROAD);
    // A SCRAM user who never logs in: the review lists it.
    await first.broker.addUser('dormant', `dormant-${randomBytes(8).toString('hex')}`);
    await useTheClients(first, 'before');

    let before: AdviceJson | undefined;
    await t.test('advise --json: what the clients needed, and the proposal of exactly three bindings', async () => {
      before = await adviceJson(first);
      const allowed = before.allowed.map((a) => `${a.operation} ${a.resourceType} ${a.resourceName} ${a.scope}`).sort();
      assert.deepEqual(allowed, [
        'DESCRIBE GROUP billing named',
        'DESCRIBE TOPIC orders.eu named',
        'IDEMPOTENT_WRITE CLUSTER kafka-cluster alternative',
        'READ GROUP billing named',
        'READ TOPIC orders.eu named',
        'WRITE TOPIC orders.eu named',
      ]);
      assert.deepEqual(before.denied, []);
      assert.deepEqual(before.proposal.map(short), PROPOSAL);
      assert.ok(before.proposal.every((b) => b.permission === 'ALLOW' && b.host === '*'));
      assert.deepEqual(before.flagged, []);
      assert.ok(before.notes.some((n) => n.includes('KIP-679')), 'the idempotent producer was seen');
      assert.deepEqual(
        before.changes.remove.map((r) => `${short(r)} ${r.why}`).sort(),
        ['ALL GROUP * LITERAL replaced', 'ALL TOPIC * LITERAL replaced', 'IDEMPOTENT_WRITE CLUSTER kafka-cluster LITERAL replaced', 'READ TOPIC payments LITERAL unused'],
      );
    });

    await t.test('advise (text): the diff, + to add and - for the grants it replaces or that were never used', async () => {
      const out = await runParapet(['acl', 'advise', '--principal', USER, ...first.cli]);
      assert.equal(out.code, 0, out.stderr);
      const principal = `principal=User:${USER}`;
      assert.ok(out.stdout.includes(`+ ${principal} permission=ALLOW operation=WRITE resource=TOPIC name=orders.eu pattern=LITERAL host=*\n`), out.stdout);
      assert.ok(out.stdout.includes(`+ ${principal} permission=ALLOW operation=READ resource=GROUP name=billing pattern=LITERAL host=*\n`), out.stdout);
      assert.match(out.stdout, /^- principal=User:billing-app permission=ALLOW operation=READ resource=TOPIC name=payments pattern=LITERAL host=\* {2}# never used since /m);
      assert.match(out.stdout, /^- principal=User:billing-app permission=ALLOW operation=ALL resource=TOPIC name=\* pattern=LITERAL host=\* {2}# used, but broader/m);
    });

    await t.test('access review: the unused grant, the user never seen, the super user and the wildcard grants; as text, CSV and JSON', async () => {
      const json = await runParapet(['access', 'review', '--format', 'json', ...first.cli]);
      assert.equal(json.code, 0, json.stderr);
      const review = JSON.parse(json.stdout) as {
        report: { runBy: string; broker: string };
        unusedGrants: { principal: string; operation: string; resourceName: string }[];
        inactivePrincipals: { principal: string; namedIn: string[] }[];
        superUsers: { principal: string }[];
        wildcardGrants: { principal: string; resourceName: string; wildcards: string[] }[];
      };
      assert.ok(review.unusedGrants.some((g) => g.principal === `User:${USER}` && g.operation === 'READ' && g.resourceName === 'payments'));
      assert.ok(!review.unusedGrants.some((g) => g.principal === `User:${USER}` && g.resourceName === '*'), 'the broad grants were used');
      assert.deepEqual(review.inactivePrincipals.find((p) => p.principal === 'User:dormant')?.namedIn, ['scram']);
      assert.ok(!review.inactivePrincipals.some((p) => p.principal === `User:${USER}`));
      assert.deepEqual(review.superUsers.map((u) => u.principal), ['User:admin']);
      assert.equal(review.wildcardGrants.filter((g) => g.principal === `User:${USER}`).length, 2);
      assert.match(review.report.runBy, /^User:admin, as OS user /);
      assert.equal(review.report.broker, first.broker.bootstrap);
      const text = await runParapet(['access', 'review', ...first.cli]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Summary: \d+ unused grant\(s\), \d+ principal\(s\) not seen logging in, 1 super user\(s\), \d+ wildcard grant\(s\)$/m);
      assert.match(text.stdout, /^ {2}User:billing-app +ALLOW +READ +TOPIC +payments +LITERAL +\* +never$/m);
      assert.match(text.stdout, /^Reviewed by: _+ {3}Date: _+/m);
      const csv = await runParapet(['access', 'review', '--format', 'csv', ...first.cli]);
      assert.equal(csv.code, 0, csv.stderr);
      assert.ok(csv.stdout.startsWith('finding,principal,permission,operation,resource_type,resource_name,pattern,host,last_seen,detail\r\n'));
      assert.ok(csv.stdout.includes('unused-grant,User:billing-app,ALLOW,READ,TOPIC,payments,LITERAL,*,never,\r\n'), csv.stdout);
    });

    await t.test('a restart keeps the observations: the same counts and times, the same proposal', async (restarted) => {
      assert.equal(await first.broker.stop(), 0);
      const second = await running(await startBrokerProcess(t, { dataDir: first.broker.dataDir }));
      const after = await adviceJson(second);
      assert.deepEqual(after.allowed, before?.allowed);
      assert.deepEqual(after.proposal, before?.proposal);

      await restarted.test('--apply without --yes and without a terminal refuses and changes nothing; on a terminal, n declines', async () => {
        const refused = await runParapet(['acl', 'advise', '--principal', USER, '--apply', ...second.cli]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /confirm with --yes when standard input is not a terminal/);
        const declined = await onTerminal([CLI, 'acl', 'advise', '--principal', USER, '--apply', ...second.cli], 'n\n');
        assert.match(declined.output, /apply 3 addition\(s\) and 4 removal\(s\) to the bindings of User:billing-app\? \[y\/N\]/);
        assert.match(declined.output, /not applied/);
        const client = await second.broker.admin();
        assert.equal((await client.describeAcls({ ...MATCH_ALL_ACLS, principal: `User:${USER}` })).length, BROAD.length);
      });

      await restarted.test('--apply --yes: the user is left with exactly the proposal, and kcat and confluent-kafka still work', async () => {
        const applied = await runParapet(['acl', 'advise', '--principal', USER, '--apply', '--yes', ...second.cli]);
        assert.equal(applied.code, 0, applied.stderr);
        assert.equal(applied.stdout.split('\n').filter((l) => l.startsWith('added ')).length, 3);
        assert.equal(applied.stdout.split('\n').filter((l) => l.startsWith('removed ')).length, 4);
        const client = await second.broker.admin();
        const now = await client.describeAcls({ ...MATCH_ALL_ACLS, principal: `User:${USER}` });
        assert.deepEqual(
          now.map((b) => formatAclBinding(b)).sort(),
          [grant(T, TOPIC, AclOperation.READ), grant(T, TOPIC, AclOperation.WRITE), grant(G, GROUP, AclOperation.READ)].map((b) => formatAclBinding({ ...b, principal: `User:${USER}` })).sort(),
        );
        await useTheClients(second, 'after');
        const again = await runParapet(['acl', 'advise', '--principal', USER, ...second.cli]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /^ {2}nothing to change$/m);
      });
    });
  });
});

/** Runs node ARGS on a pseudo-terminal (util-linux `script`), typing `input`; resolves with what the terminal showed. */
async function onTerminal(args: readonly string[], input: string): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    output += s;
    // Answered once the question is on the screen: a terminal's input typed before is read the same way, but this is how a person does it.
    if (output.includes('[y/N]') && !child.stdin.writableEnded) child.stdin.end(input);
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output };
}
