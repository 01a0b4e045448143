import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/client.js';
import { commitWithKafkaPython, runProgram } from '../helpers/processes.js';

const PROMETHEUS = '/usr/bin/prometheus';
/** The Debian `prometheus` package (.ci/run installs it); PARAPET_FULL_SUITE=1 makes its absence a failure. */
const prometheusSkip: string | false = existsSync(PROMETHEUS) || process.env.PARAPET_FULL_SUITE === '1' ? false : `${PROMETHEUS} not found (apt-get install prometheus)`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A real Prometheus scrapes a broker's admin endpoint every second, and its query API returns the
 * series that kcat and kafka-python made: requests by API, bytes in by topic, the partition's end
 * offset, the committed group's lag, connections.
 */
describe('a real Prometheus scrapes the broker', { skip: prometheusSkip }, () => {
  it('and its queries return requests, bytes in, end offsets, consumer lag and connections', async (t) => {
    const { broker, port, bootstrap } = await startBroker(t);
    await createTopic(port, 'scraped', 1);
    await runProgram('kcat', ['-b', bootstrap, '-P', '-t', 'scraped', '-p', '0'], Array.from({ length: 10 }, (_, i) => `record-${i}\n`).join(''));
    await commitWithKafkaPython(bootstrap, 'scraped', 'scraped-readers', 4);

    const dir = mkdtempSync(join(tmpdir(), 'parapet-prometheus-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const admin = broker.adminAddress;
    assert.ok(admin !== undefined);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: parapet', '    static_configs:', `      - targets: ['127.0.0.1:${admin.port}']`, ''].join('\n'),
    );
    const webPort = await freePort();
    const prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    prometheus.stderr.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-20_000)));
    const exited = new Promise<void>((resolve) => prometheus.once('exit', () => { resolve(); }));
    t.after(async () => {
      prometheus.kill('SIGTERM');
      await exited;
    });

    const query = async (expr: string): Promise<QueryResult[]> => {
      try {
        const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
        if (!res.ok) return [];
        const body = (await res.json()) as { status: string; data: { result: QueryResult[] } };
        return body.status === 'success' ? body.data.result : [];
      } catch {
        return []; // not listening yet
      }
    };
    /** Queries until `expr` returns a sample `accept` takes, or fails naming what was last returned. */
    const expectSeries = async (expr: string, accept: (value: number) => boolean): Promise<void> => {
      const deadline = Date.now() + 30_000;
      let last: QueryResult[] = [];
      while (Date.now() < deadline) {
        last = await query(expr);
        if (last.some((r) => accept(Number(r.value[1])))) return;
        if (prometheus.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.fail(`no sample of ${expr} was accepted; last result ${JSON.stringify(last)}\nprometheus log:\n${log}`);
    };

    await expectSeries('up{job="parapet"}', (v) => v === 1);
    await expectSeries('parapet_requests_total{api="Produce",outcome="ok"}', (v) => v >= 1);
    await expectSeries('sum by (api) (parapet_requests_total{api="OffsetCommit"})', (v) => v >= 1);
    await expectSeries('parapet_request_duration_seconds_count{api="Fetch"}', (v) => v >= 1);
    await expectSeries('parapet_topic_bytes_in_total{topic="scraped"}', (v) => v > 10 * 8);
    await expectSeries('parapet_partition_log_end_offset{topic="scraped",partition="0"}', (v) => v === 10);
    await expectSeries('parapet_consumer_group_lag{group="scraped-readers",topic="scraped",partition="0"}', (v) => v === 6);
    await expectSeries('parapet_connections_accepted_total{listener="PLAINTEXT"}', (v) => v >= 3);
    await expectSeries('parapet_connections{listener="PLAINTEXT"}', (v) => v >= 0);
    await expectSeries('parapet_nodejs_eventloop_lag_p99_seconds', (v) => v >= 0);
  });
});
