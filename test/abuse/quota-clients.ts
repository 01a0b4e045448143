import { spawn } from 'node:child_process';
import { kcat, type ProcessResult } from '../interop/security-support.js';

/**
 * The real clients of the quota abuse test: a confluent-kafka (librdkafka) producer through
 * /usr/bin/python3 that reports what it delivered, when, and every throttle time the broker sent it
 * (confluent-kafka's throttle_cb, KIP-219), and librdkafka's own statistics of the broker's throttles.
 */

export interface ProducerSettings {
  readonly bootstrap: string;
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  readonly topic: string;
  readonly clientId: string;
  readonly seconds: number;
  /** Value bytes of each message. */
  readonly messageBytes: number;
  /** Value bytes per second to offer; 0: as fast as the client takes them. */
  readonly paceBytesPerSecond: number;
}

export interface ProducerReport {
  /** [seconds since the start, value bytes] of each delivered message. */
  readonly delivered: readonly [number, number][];
  /** [seconds since the start, throttle ms] of each throttle_cb call. */
  readonly throttles: readonly [number, number][];
  /** The largest throttle librdkafka's statistics saw (brokers[].throttle.max), in ms. */
  readonly statsThrottleMaxMs: number;
  readonly errors: readonly string[];
}

const SCRIPT = String.raw`
import json, sys, time
from confluent_kafka import Producer
s = json.loads(sys.stdin.read())
start = time.monotonic()
delivered, throttles, errors = [], [], []
stats_max = [0]
def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        delivered.append([round(time.monotonic() - start, 4), len(msg.value())])
def on_throttle(event):
    throttles.append([round(time.monotonic() - start, 4), int(event.throttle_time * 1000)])
def on_stats(text):
    for b in json.loads(text).get('brokers', {}).values():
        stats_max[0] = max(stats_max[0], b.get('throttle', {}).get('max', 0))
p = Producer({
    'bootstrap.servers': s['bootstrap'], 'client.id': s['clientId'],
    'security.protocol': 'SASL_SSL', 'ssl.ca.location': s['caFile'],
    'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': s['username'], 'sasl.password': s['password'],
    # Requests of at most 64 KiB (librdkafka sends up to 1 MB): the quota's accounting is per request,
    # so smaller requests make the rate follow the quota closely rather than by one-second jumps.
    'acks': 1, 'linger.ms': 5, 'batch.size': 65536, 'queue.buffering.max.kbytes': 1024,
    'statistics.interval.ms': 500, 'stats_cb': on_stats, 'throttle_cb': on_throttle,
})
value = b'x' * s['messageBytes']
offered = 0
while time.monotonic() - start < s['seconds']:
    pace = s['paceBytesPerSecond']
    if pace > 0 and offered > pace * (time.monotonic() - start):
        p.poll(0.002)
        continue
    try:
        p.produce(s['topic'], value, on_delivery=on_delivery)
        offered += len(value)
    except BufferError:
        p.poll(0.005)
    p.poll(0)
# What is still queued would only wait for the quota: dropped, not delivered (the window is over).
p.purge(in_queue=True, in_flight=False)
p.flush(5)
errors = [e for e in errors if 'PURGE' not in e]
print(json.dumps({'delivered': delivered, 'throttles': throttles, 'statsThrottleMaxMs': stats_max[0], 'errors': errors[:5]}))
`;

/** Runs one producer for `settings.seconds`; resolves with what it saw. */
export async function runProducer(settings: ProducerSettings): Promise<ProducerReport> {
  const child = spawn('/usr/bin/python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end(JSON.stringify(settings));
  const timer = setTimeout(() => child.kill('SIGKILL'), (settings.seconds + 25) * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  clearTimeout(timer);
  if (code !== 0) throw new Error(`the producer exited with ${String(code)}: ${stderr}`);
  return JSON.parse(stdout) as ProducerReport;
}

/**
 * Value bytes per second delivered between `from` and `to` seconds after the start: the slope of a
 * least-squares line through the bytes delivered so far (every 50 ms). A quota's rate is a sawtooth (a
 * burst as the window's oldest sample expires, then throttles); the slope is moved far less by where
 * the span's ends fall on it than the bytes between the two ends are.
 */
export function deliveredRate(report: ProducerReport, from: number, to: number): number {
  const points: [number, number][] = [];
  let total = 0;
  let next = 0;
  const delivered = report.delivered;
  for (let t = 0; t <= to + 1e-9; t += 0.05) {
    for (let d = delivered[next]; d !== undefined && d[0] <= t; d = delivered[++next]) total += d[1];
    if (t >= from) points.push([t, total]);
  }
  const meanT = points.reduce((n, p) => n + p[0], 0) / points.length;
  const meanB = points.reduce((n, p) => n + p[1], 0) / points.length;
  let covariance = 0;
  let variance = 0;
  for (const [t, b] of points) {
    covariance += (t - meanT) * (b - meanB);
    variance += (t - meanT) ** 2;
  }
  return covariance / variance;
}

/**
 * kcat producing `messages` lines of `messageBytes` (librdkafka's default acks=all, 64 KiB requests);
 * librdkafka logs each throttle it is told of on stderr. Resolves with how long it took.
 */
export async function runKcatProducer(o: { bootstrap: string; caFile: string; topic: string; username: string; password: string; messages: number; messageBytes: number }): Promise<ProcessResult & { ms: number }> {
  const lines = Buffer.from(`${'k'.repeat(o.messageBytes - 1)}\n`.repeat(o.messages));
  const start = Date.now();
  const result = await kcat(
    [
      ...['-P', '-b', o.bootstrap, '-t', o.topic, '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-512'],
      ...['-X', `sasl.username=${o.username}`, '-X', `sasl.password=${o.password}`, '-X', `ssl.ca.location=${o.caFile}`, '-X', 'client.id=kcat-app', '-X', 'batch.size=65536'],
    ],
    { input: lines, timeoutMs: 30_000 },
  );
  return { ...result, ms: Date.now() - start };
}
