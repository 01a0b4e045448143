import type { OffsetStore } from '../storage/offset-store.js';

/**
 * What the coordinator keeps of its groups beyond the process (the metadata store satisfies it): a
 * group outlives its members only through committed offsets, and then describes after a restart with
 * the protocol type and generation saved when its last generation completed, as Kafka's groups do
 * once loaded from the offsets topic.
 */
export type GroupPersistence = Pick<
  OffsetStore,
  'groupsWithOffsets' | 'hasOffsets' | 'deleteGroupOffsets' | 'groupMetadata' | 'saveGroupMetadata' | 'deleteGroupMetadata'
>;
