import { spawn } from 'node:child_process';

/**
 * Runs a program to its end without blocking the event loop (an in-process broker must keep serving
 * it), with `input` on its stdin; rejects with its output when it exits non-zero.
 */
export function runProgram(command: string, args: readonly string[], input = '', timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${stderr}${stdout}`));
    });
    child.stdin.end(input);
  });
}

/**
 * Consumes `count` records of partition 0 of `topic` as consumer group `group` with kafka-python (a
 * real client, through /usr/bin/python3) and commits the position: the group's lag is then the
 * partition's end offset minus `count`.
 */
export async function commitWithKafkaPython(bootstrap: string, topic: string, group: string, count: number): Promise<void> {
  const script = `
import sys
from kafka import KafkaConsumer, TopicPartition
tp = TopicPartition(${JSON.stringify(topic)}, 0)
c = KafkaConsumer(bootstrap_servers=${JSON.stringify(bootstrap)}, group_id=${JSON.stringify(group)}, enable_auto_commit=False, api_version=(2, 5, 0))
c.assign([tp])
c.seek_to_beginning(tp)
got = 0
while got < ${count}:
    for records in c.poll(timeout_ms=10000, max_records=${count} - got).values():
        got += len(records)
c.commit()
c.close()
print(got)
`;
  const { stdout } = await runProgram('/usr/bin/python3', ['-c', script]);
  if (stdout.trim() !== String(count)) throw new Error(`kafka-python consumed ${stdout.trim()}, not ${count}`);
}
