import { SaslHandshake } from '../../protocol/messages/sasl-handshake.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/**
 * SaslHandshake: a thin adapter onto the connection's Session, which holds the authentication state
 * machine. Served on every listener (Kafka advertises it everywhere); a listener without SASL answers
 * with UNSUPPORTED_SASL_MECHANISM and an empty mechanism list.
 */
export function saslHandshakeHandler(): HandlerEntry {
  return handler(SaslHandshake, (body, ctx) => {
    const outcome = ctx.session.handshake(ctx.header.apiVersion, body.mechanism);
    if (outcome.close !== undefined) ctx.closeAfterResponse(outcome.close);
    return outcome.response;
  });
}
