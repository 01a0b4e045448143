/**
 * The cost of the secure path, measured in one run: the same produce/consume load against a plaintext
 * broker (`--insecure`) and against a default one (TLS 1.3, SCRAM-SHA-512, ACL authorization of every
 * request by a non-super user), alternating scenario by scenario so that both see the same machine.
 * Prints MB/s of each and the secure/plaintext ratio; figures compare within the run only.
 *
 *   npm run bench:secure [-- --seconds 5 --connections 4 --partitions 4 --in-flight 4 --rounds 2]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loopbackBaseline } from './baseline.js';
import { consume, createTopic, fmt, plaintextClient, produce, secureBenchUser, SHAPES, startBrokerProcess, tempDataDir, loadFlags, loadOptionsOf, type LoadOptions } from './load.js';

const { values: args } = parseArgs({
  options: {
    ...loadFlags(2),
  },
});
const common = loadOptionsOf(args);
const ROUNDS = Number(args.rounds);

const { dataDir: plainDir, remove: removePlainDir } = tempDataDir('parapet-bench-plain-');
const { dataDir: secureDir, remove: removeSecureDir } = tempDataDir('parapet-bench-secure-');
const plain = await startBrokerProcess(['--insecure', '--data-dir', plainDir]);
// A new data directory: `parapet start` initialises it (CA, certificate, admin), as for a new user.
const secure = await startBrokerProcess(['--data-dir', secureDir]);
try {
  // The load runs as an ordinary user whose every produce and fetch passes the ACL authorizer.
  const { admin: adminConfig, user: benchUser } = await secureBenchUser(secureDir, secure.port);
  const ca = readFileSync(join(secureDir, 'tls', 'ca.crt'));
  const paths: Record<'plaintext' | 'secure', LoadOptions> = {
    plaintext: { ...common, client: plaintextClient(plain.port) },
    secure: { ...common, client: benchUser },
  };

  const tcp = await loopbackBaseline(2);
  const tls = await loopbackBaseline(2, { cert: readFileSync(join(secureDir, 'tls', 'server.crt')), key: readFileSync(join(secureDir, 'tls', 'server.key')), ca });
  console.log(`machine baseline, one loopback stream in one process: TCP ${tcp.toFixed(0)} MB/s, TLS 1.3 ${tls.toFixed(0)} MB/s (${((100 * tls) / tcp).toFixed(0)}%)`);
  console.log(`secure path (TLS 1.3 + SCRAM-SHA-512 + ACLs) vs plaintext: ${common.connections} connections × ${common.inFlight} in flight, ${common.partitions} partitions, ${common.seconds} s per run, best of ${ROUNDS}`);
  console.log(`${'scenario'.padEnd(44)} ${'plain MB/s'.padStart(10)} ${'secure MB/s'.padStart(11)} ${'ratio'.padStart(7)}`);
  let topicNo = 0;
  for (const shape of SHAPES) {
    for (const acks of [1, -1]) {
      const best = { plaintext: { produce: 0, consume: 0 }, secure: { produce: 0, consume: 0 } };
      for (let round = 0; round < ROUNDS; round++) {
        // Each path goes first in every other round, and every run starts with the page cache's dirty
        // pages written out: a run that follows another pays for the other's writeback otherwise.
        const order = round % 2 === 0 ? (['plaintext', 'secure'] as const) : (['secure', 'plaintext'] as const);
        for (const path of order) {
          execFileSync('sync');
          const topic = `bench-${topicNo++}`;
          await createTopic(path === 'secure' ? adminConfig : paths.plaintext.client, topic, common.partitions);
          const produced = await produce(paths[path], topic, shape, acks);
          const consumed = await consume(paths[path], topic);
          best[path].produce = Math.max(best[path].produce, produced.mbPerSec);
          best[path].consume = Math.max(best[path].consume, consumed.mbPerSec);
        }
      }
      const row = (what: string, p: number, s: number) => {
        console.log(`${what.padEnd(44)} ${fmt(p)} ${fmt(s).padStart(11)} ${`${((100 * s) / p).toFixed(0)}%`.padStart(7)}`);
      };
      row(`produce ${shape.name}, acks=${acks}`, best.plaintext.produce, best.secure.produce);
      row(`  consume it`, best.plaintext.consume, best.secure.consume);
    }
  }
} finally {
  await Promise.all([plain.stop(), secure.stop()]);
  removePlainDir();
  removeSecureDir();
}
