import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DEFAULT_COORDINATOR_CONFIG, GroupCoordinator, type CoordinatorConfig, type JoinRequest, type SyncRequest } from '../../../src/groups/coordinator.js';
import { DEFAULT_GROUP_REGISTRY_LIMITS, GroupRegistry, type GroupRegistryLimits } from '../../../src/groups/group-registry.js';
import type { JoinOutcome, MemberProtocol, SyncOutcome } from '../../../src/groups/group.js';
import type { GroupPersistence } from '../../../src/groups/persistence.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { StoredGroupMetadata } from '../../../src/storage/metadata-store.js';
import { recordingLogger } from '../../helpers/broker.js';
import { FakeScheduler } from './fake-scheduler.js';

export const SESSION_MS = 10_000;
export const REBALANCE_MS = 30_000;
export const DELAY_MS = 3000;
export const GROUP = 'g';
/** The principal of every request unless a test says otherwise. */
export const PRINCIPAL = 'User:test';

export interface Harness {
  readonly clock: FakeScheduler;
  readonly coordinator: GroupCoordinator;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** Groups the fake store has committed offsets for. */
  readonly offsets: Set<string>;
  /** Every deleteGroupOffsets call (DeleteGroups), in order. */
  readonly deletedOffsets: string[];
  /** The group metadata the fake store holds (saved when a generation completes). */
  readonly saved: Map<string, StoredGroupMetadata>;
  /** Which groups exist and what each principal holds. */
  readonly registry: GroupRegistry;
}

/**
 * The coordinator's persistence in memory, with the metadata store's contract: deleting a group's
 * offsets deletes its metadata too.
 */
function memoryPersistence(offsets: Set<string>, saved: Map<string, StoredGroupMetadata>, deletedOffsets: string[]): GroupPersistence {
  return {
    groupsWithOffsets: () => [...offsets].sort(),
    hasOffsets: (groupId) => offsets.has(groupId),
    deleteGroupOffsets: (groupId) => {
      deletedOffsets.push(groupId);
      saved.delete(groupId);
      return offsets.delete(groupId) ? 1 : 0;
    },
    groupMetadata: (groupId) => saved.get(groupId),
    saveGroupMetadata: (groupId, metadata) => {
      saved.set(groupId, metadata);
    },
    deleteGroupMetadata: (groupId) => saved.delete(groupId),
  };
}

export function harness(config: Partial<CoordinatorConfig> = {}, limits: Partial<GroupRegistryLimits> = {}): Harness {
  const clock = new FakeScheduler();
  const logger = recordingLogger();
  const offsets = new Set<string>();
  const deletedOffsets: string[] = [];
  const saved = new Map<string, StoredGroupMetadata>();
  const registry = new GroupRegistry({ ...DEFAULT_GROUP_REGISTRY_LIMITS, ...limits });
  const coordinator = new GroupCoordinator(
    { ...DEFAULT_COORDINATOR_CONFIG, minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 1_800_000, initialRebalanceDelayMs: DELAY_MS, ...config },
    { scheduler: clock, logger, persistence: memoryPersistence(offsets, saved, deletedOffsets), registry },
  );
  return { clock, coordinator, logger, offsets, deletedOffsets, saved, registry };
}

export const protocols = (...names: string[]): MemberProtocol[] => names.map((name) => ({ name, metadata: Buffer.from(`${name}-meta`) }));

/** A JoinGroup as a v3 consumer sends it (no KIP-394 round trip) unless overridden. */
export function joinRequest(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: GROUP,
    principal: PRINCIPAL,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: protocols('range'),
    requireKnownMemberId: false,
    ...overrides,
  };
}

export function syncRequest(memberId: string, generationId: number, overrides: Partial<SyncRequest> = {}): SyncRequest {
  return { groupId: GROUP, principal: PRINCIPAL, memberId, generationId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [], ...overrides };
}

/** Lets the coordinator's resolved promises deliver their values. */
export async function settle(): Promise<void> {
  await nextTurn();
}

/** A parked request whose answer the test inspects after moving the clock. */
export interface Tracked<T> {
  readonly settled: boolean;
  /** The answer; fails the test when there is none yet. */
  readonly value: T;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  let settled = false;
  let value: T | undefined;
  let failure: unknown = null;
  promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    (err: unknown) => {
      settled = true;
      failure = err;
    },
  );
  return {
    get settled() {
      return settled;
    },
    get value(): T {
      assert.ok(settled, 'expected an answer by now');
      // The coordinator answers with error codes; a rejection is a bug to surface as it is.
      if (failure !== null) throw failure instanceof Error ? failure : new Error('the coordinator rejected', { cause: failure });
      return value as T;
    },
  };
}

/** Moves the clock and lets answers arrive. */
export async function advance(h: Harness, ms: number): Promise<void> {
  h.clock.advance(ms);
  await settle();
}

export async function join(h: Harness, overrides: Partial<JoinRequest> = {}): Promise<Tracked<JoinOutcome>> {
  const t = track(h.coordinator.join(joinRequest(overrides)));
  await settle();
  return t;
}

export async function sync(h: Harness, memberId: string, generationId: number, overrides: Partial<SyncRequest> = {}): Promise<Tracked<SyncOutcome>> {
  const t = track(h.coordinator.sync(syncRequest(memberId, generationId, overrides)));
  await settle();
  return t;
}

export interface StableMember {
  readonly memberId: string;
  readonly assignment: Buffer;
}

export interface StableGroup {
  readonly generationId: number;
  readonly leader: string;
  /** In join order; the first is the leader. */
  readonly members: StableMember[];
}

/**
 * Brings group `g` from nothing to Stable with `count` dynamic members (each `clientId` c0, c1…,
 * joined in the same initial delay), the leader assigning `a0`, `a1`… in join order.
 */
export async function stableGroup(h: Harness, count: number, overrides: (i: number) => Partial<JoinRequest> = () => ({})): Promise<StableGroup> {
  const joins: Tracked<JoinOutcome>[] = [];
  for (let i = 0; i < count; i++) joins.push(await join(h, { clientId: `c${i}`, ...overrides(i) }));
  await advance(h, DELAY_MS);
  const outcomes = joins.map((j) => j.value);
  for (const o of outcomes) assert.equal(o.errorCode, ErrorCode.NONE);
  const generationId = outcomes[0]?.generationId ?? -1;
  const leader = outcomes[0]?.leader ?? '';
  const ids = outcomes.map((o) => o.memberId);
  const assignments = ids.map((memberId, i) => ({ memberId, assignment: Buffer.from(`a${i}`) }));
  const syncs: Tracked<SyncOutcome>[] = [];
  for (const id of ids) {
    syncs.push(await sync(h, id, generationId, id === leader ? { assignments } : {}));
  }
  for (const s of syncs) assert.equal(s.value.errorCode, ErrorCode.NONE);
  assert.equal(h.coordinator.describe(GROUP).state, 'Stable');
  return { generationId, leader, members: ids.map((memberId, i) => ({ memberId, assignment: syncs[i]?.value.assignment ?? Buffer.alloc(0) })) };
}

export function stateOf(h: Harness, groupId = GROUP): string {
  return h.coordinator.describe(groupId).state;
}

export function memberIds(h: Harness, groupId = GROUP): string[] {
  return h.coordinator.describe(groupId).members.map((m) => m.memberId);
}

/** Picks element i, failing the test when absent (noUncheckedIndexedAccess). */
export function at<T>(items: readonly T[], i: number): T {
  const item = items[i];
  assert.ok(item !== undefined, `no element ${i}`);
  return item;
}
