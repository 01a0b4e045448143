import type { CloseReason } from '../close-reasons.js';
import { closeReasonOf, type FrameHandler } from './connection.js';

/** What a client would have seen of one injected request. */
export interface InjectedResponse {
  /** The response frame as a client reads it, size prefix included; null when nothing is answered (acks=0). */
  readonly frame: Buffer | null;
  /**
   * Set when the connection would have closed after this request, and why: a stage or the handler
   * asked for it (a request before authentication), or handling threw (`error`: a frame that does not
   * decode, an API version not served), which closes the connection unanswered.
   */
  readonly closed?: { readonly reason: CloseReason; readonly detail?: string; readonly error?: unknown };
  /** How long a quota would have muted the connection after this response (KIP-219); absent: not throttled. */
  readonly mutedMs?: number;
}

/**
 * Hands one frame (size prefix included, as a client writes it) to a connection's pipeline in place of
 * the connection: releasing early and recycling the frame are no-ops, and the connection never closes
 * under a waiting request.
 */
export async function injectFrame(handle: FrameHandler, frame: Buffer): Promise<InjectedResponse> {
  const size = frame.readInt32BE(0);
  if (size !== frame.length - 4) throw new Error(`the frame's size prefix says ${size} bytes, but ${frame.length - 4} follow it`);
  let closeAfter: { reason: CloseReason; detail?: string } | undefined;
  let throttleMs = 0;
  try {
    const chunks = await handle(frame.subarray(4), {
      release: () => undefined,
      recycleFrame: () => undefined,
      closeAfterResponse: (reason, detail) => {
        closeAfter = detail === undefined ? { reason } : { reason, detail };
      },
      closed: new AbortController().signal,
      throttle: (ms) => {
        throttleMs = Math.max(throttleMs, ms);
      },
    });
    const response = chunks === null ? null : Buffer.concat(chunks);
    const muted = throttleMs > 0 ? { mutedMs: throttleMs } : {};
    return closeAfter === undefined ? { frame: response, ...muted } : { frame: response, closed: closeAfter, ...muted };
  } catch (error) {
    return { frame: null, closed: { reason: closeReasonOf(error), error } };
  }
}
