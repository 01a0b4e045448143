import { ErrorCode } from '../../protocol/error-codes.js';
import { FindCoordinator } from '../../protocol/messages/find-coordinator.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** FindCoordinator key types (KIP-98). */
const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1 } as const;

/**
 * FindCoordinator: this broker coordinates every group and every transactional id, at the listener the
 * request came in on. Other key types (share groups, KIP-932) are refused with INVALID_REQUEST.
 */
export function findCoordinatorHandler(nodeId: number): HandlerEntry {
  return handler(FindCoordinator, (body, ctx) => {
    const { host, port } = ctx.listener;
    const answer = (keyType: number) =>
      keyType === CoordinatorKeyType.GROUP || keyType === CoordinatorKeyType.TRANSACTION
        ? { errorCode: ErrorCode.NONE, errorMessage: null, nodeId, host, port }
        : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `coordinator key type ${keyType} is not supported`, nodeId: -1, host: '', port: -1 };
    const keyType = body.keyType ?? CoordinatorKeyType.GROUP;
    const single = answer(keyType);
    return {
      throttleTimeMs: 0,
      ...single,
      coordinators: (body.coordinatorKeys ?? []).map((key) => ({ key, ...answer(keyType) })),
    };
  });
}
