/**
 * The request pipeline. Every frame a connection reads goes through these steps, in this order:
 *
 *   decode      the frame into header and body; an API without a handler closes the connection
 *   stages      each stage's `before`, in the order of {@link requestStages}:
 *                 session expiry → authentication gate → principal gate → names → protected topics → quota → authorization → audit
 *                 → (request records: record validation)
 *   handler     what is left of the request, with its {@link RequestContext}
 *   stages      back out, each stage's `finish` and `after`, in reverse order:
 *                 (response records: record masking) → audit → authorization's and the names' merge of what they
 *                 refused → metrics
 *   encode      the response frame; none for a request that is not answered (acks=0)
 *
 * After a v0 SaslHandshake, frames are raw SASL tokens rather than requests, and go to the session;
 * an ApiVersions request above our versions gets the KIP-511 answer at decode. Authorization happens in
 * its stage and only there.
 */
import { decodeRequest, encodeApiVersionsFallback, encodeResponse } from '../protocol/frames.js';
import type { ReadLimits } from '../bytes/reader.js';
import { DEFAULT_NAME_LIMITS, type NameLimits } from '../protocol/names.js';
import { ParapetError } from '../errors.js';
import type { SecurityEvents } from '../security/events.js';
import type { Authorizer, Principal } from '../security/types.js';
import type { AccessRecorder } from '../security/access-log/observed-access.js';
import type { FrameHandler } from './connection.js';
import type { Handler, HandlerEntry, RequestContext } from './handler.js';
import { boundHeader } from './name-validation/index.js';
import type { Session } from './session.js';
import type { AuditStageDeps } from '../audit/stage-deps.js';
import { auditStage } from './stages/audit.js';
import { authenticationGate } from './stages/authentication-gate.js';
import { principalGate } from './stages/principal-gate.js';
import type { Refusal } from '../security/containment/containment.js';
import { authorization } from './stages/authorization.js';
import { requestMetrics, type RequestMetricsSink } from './stages/metrics.js';
import { nameRules } from './stages/name-rules.js';
import { protectedTopics } from './stages/protected-topics.js';
import { sessionExpiry } from './stages/session-expiry.js';
import { quotaStage, type QuotaStageDeps } from './stages/quota.js';
import { recordMasking, type RecordMaskingDeps } from './stages/record-masking.js';
import { recordValidation, type RecordValidationDeps } from './stages/record-validation.js';
import type { Stage, StageFactory, StageRequest, StageStep } from './stages/stage.js';

export interface PipelineDeps {
  readonly authorizer: Authorizer;
  readonly events: SecurityEvents;
  /** Bounds of client-chosen names (src/protocol/names.ts); DEFAULT_NAME_LIMITS when absent. */
  readonly names?: NameLimits;
  /** Topics no client may write, delete or alter, super users included (src/topics/internal-topics.ts). */
  readonly protectedTopics?: ReadonlySet<string>;
  /** The audit trail's stage (src/server/stages/audit.ts); none when auditing is off. */
  readonly audit?: AuditStageDeps;
  /** Where requests are counted and timed (the outermost stage); none when absent. */
  readonly metrics?: RequestMetricsSink;
  /** Client quotas (src/server/stages/quota.ts); none when absent. */
  readonly quotas?: QuotaStageDeps;
  /** Stages added by the embedder (tests, a plugin): innermost, after authorization. */
  readonly extraStages?: readonly StageFactory[];
  /** Disabled principals and the lockdown (src/security/containment); nobody is refused when absent. */
  readonly refusal?: (principal: Principal) => Refusal | null;
  /** Where every authorization decision is recorded (src/security/access-log); nowhere when absent. */
  readonly access?: AccessRecorder;
  /** Masking of fetched records per principal (src/server/stages/record-masking.ts); none when absent. */
  readonly masking?: RecordMaskingDeps;
  /** Validation of produced records against the schema registry (src/server/stages/record-validation.ts); none when absent. */
  readonly validation?: RecordValidationDeps;
}

/**
 * The stages, outermost first. A new stage is a file in ./stages and one line here, at its place:
 * audit and metrics first (they see every request, and unwinding last, its final response), a quota
 * before authorization (a throttled client costs no ACL lookups), record transforms last (they see
 * only what the principal may write or read).
 */
export function requestStages(deps: PipelineDeps): readonly StageFactory[] {
  return [
    ...(deps.metrics === undefined ? [] : [requestMetrics(deps.metrics)]),
    // A login past its session (KIP-368) is closed before anything else looks at the request.
    sessionExpiry(deps.events),
    authenticationGate(deps.events),
    // A principal disabled or locked out while connected: closed before anything else is done for it.
    ...(deps.refusal === undefined ? [] : [principalGate(deps.refusal, deps.events)]),
    nameRules(deps.names ?? DEFAULT_NAME_LIMITS),
    ...(deps.protectedTopics === undefined ? [] : [protectedTopics(deps.protectedTopics, deps.events)]),
    ...(deps.quotas === undefined ? [] : [quotaStage(deps.quotas)]),
    authorization(deps.authorizer, deps.events, deps.access),
    // After authorization: it records what was let through, and the handler's answer.
    ...(deps.audit === undefined ? [] : [auditStage(deps.audit)]),
    // A response record stage: inside audit and metrics, so they see the masked response.
    ...(deps.masking === undefined ? [] : [recordMasking(deps.masking)]),
    // A request record stage: after authorization and audit, so it checks only what the principal may write.
    ...(deps.validation === undefined ? [] : [recordValidation(deps.validation)]),
    ...(deps.extraStages ?? []),
  ];
}

export interface DispatcherOptions {
  readonly handlers: ReadonlyMap<number, HandlerEntry>;
  readonly connection: {
    readonly id: number;
    readonly listener: RequestContext['listener'];
    /** The peer's IP address: ACL host patterns match it. */
    readonly clientIp: string;
    readonly remote: string;
    readonly limits?: ReadLimits;
  };
  readonly session: Session;
  /** What {@link requestStages} returned: each connection builds its own instance of each stage. */
  readonly stages: readonly StageFactory[];
  /** Bounds of client-chosen names: the client id in the header is cut to its bound. */
  readonly names?: NameLimits;
}

/** The pipeline of one connection: a frame in, the response frame (or none) out. */
export function createDispatcher(options: DispatcherOptions): FrameHandler {
  const { handlers, connection, session } = options;
  const names = options.names ?? DEFAULT_NAME_LIMITS;
  const stages = options.stages.map((make) => make(connection));
  return async (frame, control) => {
    if (session.expectsRawToken) {
      const outcome = await session.rawToken(frame);
      if (outcome.close !== undefined) control.closeAfterResponse(outcome.close);
      if (outcome.response === null) return null;
      const size = Buffer.allocUnsafe(4);
      size.writeInt32BE(outcome.response.length);
      return [size, outcome.response];
    }
    const decoded = decodeRequest(frame, connection.limits);
    if (decoded.kind === 'api-versions-fallback') return encodeApiVersionsFallback(decoded.header.correlationId);
    const { api, body } = decoded;
    const header = boundHeader(decoded.header, names);
    const entry = handlers.get(api.apiKey);
    if (entry === undefined) {
      throw new ParapetError('UNSUPPORTED_API', `${api.name} is not served by this broker`, { api: api.name, version: header.apiVersion });
    }
    const context: RequestContext = {
      header,
      listener: connection.listener,
      connectionId: connection.id,
      clientHost: `/${connection.clientIp}`,
      principal: session.principal,
      session,
      release: control.release,
      closeAfterResponse: control.closeAfterResponse,
      connectionClosed: control.closed,
      throttle: control.throttle,
    };
    const response = await runStages(stages, { api, header, body, context }, entry.handle);
    const encoded = response === null ? null : encodeResponse(api, header.apiVersion, header.correlationId, response);
    if (entry.releasesFrame === true) control.recycleFrame();
    return encoded;
  };
}

/**
 * Runs the request into the stages, to the handler unless a stage answers first, and its response back
 * out through every stage it reached. Waits only for what returns a promise, so a request whose stages
 * are synchronous reaches its handler in the turn it was read.
 */
async function runStages(stages: readonly Stage[], request: { -readonly [K in keyof StageRequest]: StageRequest[K] }, handle: Handler): Promise<object | null> {
  const finishes: (((response: object) => object) | undefined)[] = [];
  let reached = 0;
  try {
    let answer: { response: object | null } | undefined;
    while (reached < stages.length && answer === undefined) {
      const stage = stages[reached++] as Stage;
      const pending = stage.before?.(request);
      const step: StageStep = pending instanceof Promise ? await pending : pending;
      if (step?.kind === 'forward') {
        request.body = step.body;
        finishes[reached - 1] = step.finish;
      } else if (step?.kind === 'respond') {
        answer = { response: step.response };
      }
    }
    let response = answer !== undefined ? answer.response : await handle(request.body, request.context);
    for (let i = reached - 1; i >= 0; i--) {
      const finish = finishes[i];
      if (response !== null && finish !== undefined) response = finish(response);
      const after = (stages[i] as Stage).after?.(request, response);
      if (after !== undefined) response = after instanceof Promise ? await after : after;
      // Stages inside this one are done with the request: a throw from here on is not theirs to hear of.
      reached = i;
    }
    return response;
  } catch (err) {
    // The connection closes unanswered: the stages the request reached hear of it (metrics count it).
    for (let i = reached - 1; i >= 0; i--) (stages[i] as Stage).failed?.(request, err);
    throw err;
  }
}
