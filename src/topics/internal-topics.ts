/**
 * Topics the broker writes itself. Clients may read them (with an ACL), and Metadata marks them
 * internal, but no principal, super users included, may write, delete or alter them through the
 * protocol (src/server/stages/protected-topics.ts).
 */
export const AUDIT_TOPIC = '__audit';

export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([AUDIT_TOPIC]);
