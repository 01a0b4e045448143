import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, PartitionAssigners, type Consumer } from 'kafkajs';

/**
 * One KafkaJS 2.2.4 group member for groups-kafkajs.test.ts: autoCommit (a commit after each fetched
 * batch is processed), RoundRobinAssigner, and what it does reported as events. The test runs some
 * members in its own process and one as a child process (`node kafkajs-group-member.js <options
 * JSON>`, events as JSON lines on stdout) that it can SIGKILL: a member that dies without LeaveGroup.
 */

export interface MemberOptions {
  readonly bootstrap: string;
  readonly groupId: string;
  readonly topic: string;
  /** Also the client id, so the broker's DescribeGroups names the member. */
  readonly name: string;
  readonly sessionTimeoutMs: number;
}

export type MemberEvent =
  | { type: 'assignment'; member: string; partitions: number[]; at: number }
  | { type: 'message'; member: string; partition: number; offset: number; value: string; at: number }
  | { type: 'commit'; member: string; partition: number; offset: number; at: number }
  | { type: 'running'; member: string; at: number };

export interface RunningMember {
  readonly consumer: Consumer;
  /** LeaveGroup and close (KafkaJS's disconnect). */
  disconnect(): Promise<void>;
}

export async function runMember(options: MemberOptions, emit: (event: MemberEvent) => void): Promise<RunningMember> {
  const member = options.name;
  const kafka = new Kafka({
    clientId: member,
    brokers: [options.bootstrap],
    logLevel: logLevel.NOTHING,
    // Short backoffs: a rejoin after REBALANCE_IN_PROGRESS goes through KafkaJS's retrier.
    retry: { initialRetryTime: 50, maxRetryTime: 1000, retries: 10 },
  });
  const consumer = kafka.consumer({
    groupId: options.groupId,
    partitionAssigners: [PartitionAssigners.roundRobin],
    sessionTimeout: options.sessionTimeoutMs,
    rebalanceTimeout: 10_000,
    // KafkaJS heartbeats from its fetch loop, so a fetch must not wait long either.
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    emit({ type: 'assignment', member, partitions: [...(e.payload.memberAssignment[options.topic] ?? [])].sort((a, b) => a - b), at: Date.now() });
  });
  // Emitted once the OffsetCommit was acknowledged (offsetManager.commitOffsets).
  consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
    const at = Date.now();
    for (const t of e.payload.topics) {
      for (const p of t.partitions) emit({ type: 'commit', member, partition: p.partition, offset: Number(p.offset), at });
    }
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      emit({ type: 'message', member, partition, offset: Number(message.offset), value: message.value?.toString('utf8') ?? '', at: Date.now() });
      return Promise.resolve();
    },
  });
  emit({ type: 'running', member, at: Date.now() });
  return { consumer, disconnect: () => consumer.disconnect() };
}

const main = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (main) {
  const options = JSON.parse(process.argv[2] ?? '{}') as MemberOptions;
  await runMember(options, (event) => {
    process.stdout.write(`${JSON.stringify(event)}\n`);
  });
}
