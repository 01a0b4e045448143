import type { ScramMechanismName } from '../../security/types.js';
import type { RequestContext } from '../../server/handler.js';

/**
 * What DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554) share. Both follow Kafka's
 * ScramControlManager: one result per user named, and a user named twice in a request gets
 * DUPLICATE_RESOURCE (92) and nothing else is done for them. Authorization (DESCRIBE or ALTER on the
 * cluster) is the authorization stage's, as is the first check of user names (its name stage).
 */

/** A credential change as the audit log records it: users, mechanisms and iterations, never keys. */
export interface ScramCredentialChangeEvent {
  readonly action: 'alter-user-scram-credentials';
  readonly upserted: readonly { readonly user: string; readonly mechanism: ScramMechanismName; readonly iterations: number }[];
  readonly deleted: readonly { readonly user: string; readonly mechanism: ScramMechanismName }[];
  /** The request's context (who asked comes from here once the session sets a principal on it). */
  readonly context: RequestContext;
}

/** Called after a request changed credentials; a throw closes the connection (the change stays). */
export type ScramCredentialChangeListener = (event: ScramCredentialChangeEvent) => void;

export interface UserResult {
  user: string;
  errorCode: number;
  errorMessage: string | null;
}

export const userResult = (user: string, errorCode: number, errorMessage: string | null = null): UserResult => ({ user, errorCode, errorMessage });
