import { SaslAuthenticate } from '../../protocol/messages/sasl-authenticate.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** SaslAuthenticate: a thin adapter onto the connection's Session, which runs the mechanism's exchange. */
export function saslAuthenticateHandler(): HandlerEntry {
  return handler(SaslAuthenticate, async (body, ctx) => {
    const outcome = await ctx.session.authenticate(body.authBytes, ctx.header.apiVersion);
    if (outcome.close !== undefined) ctx.closeAfterResponse(outcome.close);
    return outcome.response;
  });
}
