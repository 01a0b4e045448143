import { SaslAuthenticate } from '../protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../protocol/messages/sasl-handshake.js';
import { handler, type HandlerEntry } from './handler.js';

/**
 * SaslHandshake and SaslAuthenticate: thin adapters onto the connection's Session, which holds the
 * state machine. Served on every listener (Kafka advertises them everywhere); a listener without SASL
 * answers the handshake with UNSUPPORTED_SASL_MECHANISM and an empty mechanism list.
 */
export function saslHandlers(): HandlerEntry[] {
  return [
    handler(SaslHandshake, (body, ctx) => {
      const outcome = ctx.session.handshake(ctx.header.apiVersion, body.mechanism);
      if (outcome.close !== undefined) ctx.closeAfterResponse(outcome.close);
      return outcome.response;
    }),
    handler(SaslAuthenticate, async (body, ctx) => {
      const outcome = await ctx.session.authenticate(body.authBytes);
      if (outcome.close !== undefined) ctx.closeAfterResponse(outcome.close);
      return outcome.response;
    }),
  ];
}
