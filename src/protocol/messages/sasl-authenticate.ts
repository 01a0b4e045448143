import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * SaslAuthenticate (36): one SASL token exchange after a SaslHandshake v1. A positive
 * sessionLifetimeMs (v1+) asks the client to re-authenticate before it ends (KIP-368).
 */
export const SaslAuthenticate = api({
  apiKey: 36,
  name: 'SaslAuthenticate',
  versions: '0-2',
  flexible: '2+',
  request: {
    authBytes: f.bytes('0+'),
  },
  response: {
    errorCode: f.int16('0+'),
    errorMessage: f.string('0+', { nullable: '0+' }),
    authBytes: f.bytes('0+'),
    sessionLifetimeMs: f.int64('1+'),
  },
});
export type SaslAuthenticateRequest = RequestOf<typeof SaslAuthenticate>;
export type SaslAuthenticateResponse = ResponseOf<typeof SaslAuthenticate>;
