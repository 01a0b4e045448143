import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * SaslHandshake (17): pick a SASL mechanism. After v0 the tokens travel as raw length-prefixed frames
 * with no Kafka header; after v1 they travel in SaslAuthenticate (KIP-152). Never flexible.
 */
export const SaslHandshake = api({
  apiKey: 17,
  name: 'SaslHandshake',
  versions: '0-1',
  flexible: 'none',
  request: {
    mechanism: f.string('0+'),
  },
  response: {
    errorCode: f.int16('0+'),
    mechanisms: f.array('0+', 'string'),
  },
});
export type SaslHandshakeRequest = RequestOf<typeof SaslHandshake>;
export type SaslHandshakeResponse = ResponseOf<typeof SaslHandshake>;
