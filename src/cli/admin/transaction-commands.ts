import { InvalidArgumentError, type Command } from 'commander';
import { ClientError, KafkaError } from '../../client/errors.js';
import { printable } from '../../client/printable.js';
import type { TransactionDescribeResult, TransactionDescription, TransactionPartitions } from '../../client/transaction-admin.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { type AdminIo, type ConnectionFlags, withConnectionOptions, loadConfig, withAdmin, action, integer } from './common.js';
import { formatTable } from './table.js';

/** Kafka's transaction states (TransactionState), as ListTransactions names them in its state filter. */
const KAFKA_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'] as const;

interface ListFlags extends ConnectionFlags {
  readonly state: readonly string[];
  readonly producerId: readonly bigint[];
  readonly olderThan?: number;
}

/** Collects `--state`, each as Kafka spells it whatever the case it was typed in (`ongoing` → `Ongoing`). */
function collectState(value: string, previous: readonly string[]): string[] {
  const found = KAFKA_STATES.find((s) => s.toLowerCase() === value.trim().toLowerCase());
  if (found === undefined) throw new InvalidArgumentError(`a transaction state is one of ${KAFKA_STATES.join(', ')}.`);
  return [...previous, found];
}

/** Collects `--producer-id`: producer ids are int64, never negative. */
function collectProducerId(value: string, previous: readonly bigint[]): bigint[] {
  const text = value.trim();
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > 0x7fff_ffff_ffff_ffffn) throw new InvalidArgumentError('a producer id is an integer from 0 to 9223372036854775807.');
  return [...previous, BigInt(text)];
}

/** `orders:0,1 payments:2`, as `parapet group describe` shows an assignment; `-` for none. */
export function formatPartitions(topics: readonly TransactionPartitions[]): string {
  return topics.length === 0 ? '-' : topics.map((t) => `${t.topic}:${t.partitions.join(',')}`).join(' ');
}

/** `850ms`, `12s`, `3m05s`, `2h07m`: how long a transaction has been open. */
export function formatDuration(ms: number): string {
  const d = Math.max(0, Math.floor(ms));
  if (d < 1000) return `${d}ms`;
  const s = Math.floor(d / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** How long the open transaction has run, by this machine's clock against the coordinator's start time; `-` when none is open. */
function openFor(d: TransactionDescription | undefined, now: number): string {
  return d?.startTimeMs === null || d === undefined ? '-' : formatDuration(now - d.startTimeMs);
}

/** One line for an id that could not be described: an unknown id named as such, other errors as the broker gave them. */
function describeError(id: string, err: KafkaError): string {
  if (err.code === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) {
    return `transactional id "${id}" does not exist (TRANSACTIONAL_ID_NOT_FOUND): no producer has used it, or it expired after transactional.id.expiration.ms without a transaction`;
  }
  return err.message;
}

const ABORT_HELP = `abort the open transaction of a transactional id, and fence the producer that uses it: sends InitProducerId for the id with its current transaction timeout, as a new instance of the producer would. The coordinator writes abort markers to the transaction's partitions (read_committed consumers then move past them) and bumps the producer epoch: the producer's next request fails with PRODUCER_FENCED (or INVALID_PRODUCER_EPOCH), and it must be restarted (init_transactions). Refused, without an InitProducerId, for an unknown id (it would create it), an id without an open transaction, or one already being committed or aborted`;

/** `parapet transactions list|describe|abort`, over the Kafka protocol like kafka-transactions.sh (KIP-664). */
export function registerTransactionCommands(transactions: Command, io: AdminIo): void {
  withConnectionOptions(
    transactions
      .command('list')
      .description('list transactional ids with their state, producer id and epoch, and the partitions of their open transaction')
      .option('--state <state>', `only this state (repeatable): ${KAFKA_STATES.slice(0, 6).join(', ')}`, collectState, [])
      .option('--producer-id <id>', 'only this producer id (repeatable)', collectProducerId, [])
      .option('--older-than <ms>', 'only transactions open for at least this many milliseconds (ListTransactions v1, KIP-994)', integer('--older-than', 0, Number.MAX_SAFE_INTEGER)),
  ).action(
    action(io, async (flags: ListFlags) => {
      const config = loadConfig(flags);
      const { list, described } = await withAdmin(io, config, async (admin) => {
        const list = await admin.transactions.list({ states: flags.state, producerIds: flags.producerId, ...(flags.olderThan === undefined ? {} : { minDurationMs: flags.olderThan }) });
        // Partitions and epochs are DescribeTransactions' (ListTransactions names the id, producer and state only).
        const described = list.transactions.length === 0 ? [] : await admin.transactions.describe(list.transactions.map((t) => t.transactionalId));
        return { list, described };
      });
      for (const s of list.unknownStates) io.stderr(`parapet: warning: the broker knows no transaction state "${printable(s)}": that filter matched nothing\n`);
      if (list.transactions.length === 0) return;
      const byId = new Map(described.flatMap((r) => ('description' in r ? [[r.transactionalId, r.description] as const] : [])));
      const now = Date.now();
      io.stdout(
        formatTable(
          ['TRANSACTIONAL-ID', 'STATE', 'PRODUCER-ID', 'EPOCH', 'OPEN-FOR', 'PARTITIONS'],
          list.transactions.map((t) => {
            // An id may have moved on (or expired) between the two requests: its description is shown only when it still matches.
            const d = byId.get(t.transactionalId);
            const current = d !== undefined && d.producerId === t.producerId && d.state === t.state ? d : undefined;
            return [t.transactionalId, t.state, String(t.producerId), current === undefined ? '-' : String(current.producerEpoch), openFor(current, now), current === undefined ? '-' : formatPartitions(current.topics)];
          }),
        ),
      );
    }),
  );

  withConnectionOptions(
    transactions
      .command('describe')
      .description("show transactional ids as their coordinator sees them: state, producer id and epoch, timeout, the open transaction's start and partitions")
      .argument('<transactional-id...>', 'transactional ids'),
  ).action(
    action(io, async (ids: string[], flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      const results: TransactionDescribeResult[] = await withAdmin(io, config, (admin) => admin.transactions.describe(ids));
      const now = Date.now();
      const found = results.flatMap((r) => ('description' in r ? [r.description] : []));
      if (found.length > 0) {
        io.stdout(
          formatTable(
            ['TRANSACTIONAL-ID', 'STATE', 'PRODUCER-ID', 'EPOCH', 'TIMEOUT-MS', 'STARTED', 'OPEN-FOR', 'COORDINATOR', 'PARTITIONS'],
            found.map((d) => [
              d.transactionalId,
              d.state,
              String(d.producerId),
              String(d.producerEpoch),
              String(d.timeoutMs),
              d.startTimeMs === null ? '-' : new Date(d.startTimeMs).toISOString(),
              openFor(d, now),
              String(d.coordinator.nodeId),
              formatPartitions(d.topics),
            ]),
          ),
        );
      }
      // Every id that could not be described gets its line; any of them makes the command fail.
      for (const r of results) {
        if (!('error' in r)) continue;
        io.stderr(`parapet: ${printable(describeError(r.transactionalId, r.error))}\n`);
        io.setExitCode(1);
      }
    }),
  );

  withConnectionOptions(transactions.command('abort').summary('abort the open transaction of a transactional id, fencing its producer').description(ABORT_HELP).argument('<transactional-id>', 'the transactional id')).action(
    action(io, async (id: string, flags: ConnectionFlags) => {
      const config = loadConfig(flags);
      const done = await withAdmin(io, config, async (admin) => {
        try {
          return await admin.transactions.abort(id);
        } catch (err) {
          if (err instanceof KafkaError && err.code === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) throw new ClientError(`${describeError(id, err)}; nothing was aborted`);
          throw err;
        }
      });
      const before = done.aborted;
      const name = printable(JSON.stringify(id));
      io.stdout(
        `aborted the open transaction of ${name}: producer id ${before.producerId}, epoch ${before.producerEpoch}, partitions ${printable(formatPartitions(before.topics))}, open for ${openFor(before, Date.now())}\n` +
          `fenced its producer: ${name} now has producer id ${done.producerId}, epoch ${done.producerEpoch}; the old instance's next request fails with PRODUCER_FENCED (INVALID_PRODUCER_EPOCH for older clients)\n`,
      );
    }),
  );
}
