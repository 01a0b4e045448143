/**
 * What the offset handlers need to know from the group coordinator
 * (docs/consumer-groups.md#committed-offsets): whether a commit may be accepted, and which groups are
 * empty (their offsets expire). The coordinator implements it; offsets are stored separately, in the
 * metadata store.
 */
export interface GroupMembership {
  /**
   * The Kafka error code for a commit by this member at this generation, or 0 (NONE) when it may be
   * stored. Generation −1 with an empty member id is a standalone commit (consumers without a group
   * protocol, e.g. kafka-python with manual assignment), allowed only while the group is Empty or
   * unknown. While the group waits for the leader's assignment (CompletingRebalance) →
   * REBALANCE_IN_PROGRESS (27); during PreparingRebalance a member's commit is accepted, as in Kafka.
   * Unknown member → UNKNOWN_MEMBER_ID (25); old generation, or any generation on an unknown group →
   * ILLEGAL_GENERATION (22); a static member (group.instance.id) whose member id is not the current
   * one → FENCED_INSTANCE_ID (82).
   */
  checkCommit(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null): number;

  /** True when the group has members (its offsets must not expire); false for Empty or unknown groups. */
  hasMembers(groupId: string): boolean;
}
