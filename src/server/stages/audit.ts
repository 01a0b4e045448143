/**
 * The audit stage: what the trail records of requests, in one place (docs/security/audit.md).
 *
 * - ApiVersions: the client software the connection says it is (KIP-511), reported with its login.
 * - Produce and Fetch: who wrote or read which topic, summed per interval (src/audit/data-access.ts).
 * - Topic, partition, config and group changes: one admin-change event per item, with its outcome.
 * - Failing closed: while the audit trail cannot be written, admin changes are refused with
 *   POLICY_VIOLATION and new SASL logins fail, so nothing that must be audited happens unrecorded;
 *   connections already logged in keep producing and fetching.
 *
 * It sits after authorization: it sees only what the principal may do, and the handler's answer.
 */
import { adminChanges, AUDIT_UNAVAILABLE_MESSAGE, isAdminApi, refusedAdminResponse } from '../../audit/admin-requests.js';
import type { AuditStageDeps } from '../../audit/stage-deps.js';
import type { DataAccessLedger } from '../../audit/data-access.js';
import { CloseReasons } from '../../close-reasons.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiVersions } from '../../protocol/messages/api-versions.js';
import { Fetch } from '../../protocol/messages/fetch.js';
import { Produce } from '../../protocol/messages/produce.js';
import { SaslAuthenticate } from '../../protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../../protocol/messages/sasl-handshake.js';
import type { Principal } from '../../security/types.js';
import type { StageFactory, StageRequest, StageStep } from './stage.js';

type Entry = Record<string, unknown>;

/** Longest an admin change's answer waits for its record to reach the disk. */
export const DEFAULT_DURABLE_WAIT_MS = 5000;

export function auditStage(deps: AuditStageDeps): StageFactory {
  return (connection) => ({
    name: 'audit',
    before(request): StageStep {
      const { api, body, context } = request;
      if (api.apiKey === ApiVersions.apiKey) {
        context.session.noteClientSoftware((body.clientSoftwareName as string | undefined) ?? null, (body.clientSoftwareVersion as string | undefined) ?? null);
        return undefined;
      }
      if (!deps.refuseUnaudited()) return undefined;
      if (isAdminApi(api.apiKey)) {
        const response = refusedAdminResponse(api.apiKey, body);
        return response === undefined ? undefined : { kind: 'respond', response };
      }
      // A login that cannot be recorded does not happen. A v0 handshake is refused at once (its raw
      // tokens never come through the stages); v1 clients get the reason in SaslAuthenticate's message.
      const refuseLogin = api.apiKey === SaslAuthenticate.apiKey || (api.apiKey === SaslHandshake.apiKey && request.header.apiVersion === 0);
      if (!refuseLogin) return undefined;
      deps.events.emit({ type: 'connection-refused', connection: connection.id, remote: connection.remote, reason: CloseReasons.AUDIT_UNAVAILABLE, detail: 'a login while the audit trail cannot be written' });
      context.closeAfterResponse(CloseReasons.AUDIT_UNAVAILABLE);
      const response =
        api.apiKey === SaslAuthenticate.apiKey
          ? { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: AUDIT_UNAVAILABLE_MESSAGE, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n }
          : { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: context.session.mechanismNames };
      return { kind: 'respond', response };
    },
    after(request, response) {
      const principal = request.context.principal;
      if (principal === null) return response;
      const { apiKey } = request.api;
      if (apiKey === Produce.apiKey) noteProduce(deps.access, principal, request, response);
      else if (apiKey === Fetch.apiKey) noteFetch(deps.access, principal, response);
      else {
        for (const change of adminChanges(apiKey, request.body, response)) deps.events.emit({ type: 'admin-change', principal, remote: request.context.clientHost, ...change });
        // A change (here, or an ACL or SCRAM change its handler reported) is answered once its record
        // is on disk. Should that write fail, the change stands (it was made) and the log says so; the
        // next ones are refused (fail closed).
        // The wait is bounded: a disk that stops answering must not hang the admin's request for ever.
        if (isAdminApi(apiKey) && deps.durable !== undefined) return boundedWait(deps.durable(), deps.durableWaitMs ?? DEFAULT_DURABLE_WAIT_MS).then(() => response);
      }
      return response;
    },
  });
}

/** Settles when `durable` does (resolved or rejected) or after `ms`, whichever comes first. */
function boundedWait(durable: Promise<void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    durable.then(done, done);
  });
}

/** The bytes of each topic's partitions that were appended (all of them for acks=0, which has no answer). */
function noteProduce(access: DataAccessLedger, principal: Principal, request: StageRequest, response: object | null): void {
  const topics = request.body.topicData as Entry[];
  const answers = response === null ? undefined : ((response as Entry).responses as Entry[]);
  for (const topic of topics) {
    const name = topic.name as string;
    const failed = answers === undefined ? undefined : failedPartitions(answerOf(answers, name, topics.length));
    if (failed === 'all') continue;
    let bytes = 0;
    for (const p of topic.partitionData as Entry[]) {
      if (failed?.has(p.index as number) !== true) bytes += (p.records as Buffer | null)?.length ?? 0;
    }
    access.note(principal, name, 'write', bytes);
  }
}

/** A topic's partition answers: a scan for the usual request of a few topics, a map past that (a request may name thousands). */
const answerIndexes = new WeakMap<Entry[], Map<string, Entry[]>>();
function answerOf(answers: Entry[], name: string, requested: number): Entry[] | undefined {
  if (requested <= 8) return answers.find((t) => t.name === name)?.partitionResponses as Entry[] | undefined;
  let index = answerIndexes.get(answers);
  if (index === undefined) {
    index = new Map(answers.map((t) => [t.name as string, t.partitionResponses as Entry[]]));
    answerIndexes.set(answers, index);
  }
  return index.get(name);
}

/** The partitions of a topic's answer that failed; 'all' when none succeeded (or it has no answer). */
function failedPartitions(partitions: Entry[] | undefined): Set<number> | 'all' | undefined {
  if (partitions === undefined) return 'all';
  let failed: Set<number> | undefined;
  for (const p of partitions) {
    if (p.errorCode !== ErrorCode.NONE) (failed ??= new Set()).add(p.index as number);
  }
  return failed !== undefined && failed.size === partitions.length ? 'all' : failed;
}

/** The bytes served of each topic a fetch read without error. */
function noteFetch(access: DataAccessLedger, principal: Principal, response: object | null): void {
  if (response === null) return;
  for (const topic of (response as Entry).responses as Entry[]) {
    let bytes = 0;
    let served = false;
    for (const p of topic.partitions as Entry[]) {
      if (p.errorCode !== ErrorCode.NONE) continue;
      served = true;
      bytes += (p.records as Buffer | null)?.length ?? 0;
    }
    if (served) access.note(principal, topic.topic as string, 'read', bytes);
  }
}
