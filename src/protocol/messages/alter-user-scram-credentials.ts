import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * AlterUserScramCredentials (51): deletes and upserts SCRAM credentials. An upsertion carries the
 * salted password Hi(password, salt, iterations), never the password itself (KIP-554).
 */
export const AlterUserScramCredentials = api({
  apiKey: 51,
  name: 'AlterUserScramCredentials',
  versions: '0',
  flexible: '0+',
  request: {
    deletions: f.array('0+', {
      name: f.string('0+'),
      mechanism: f.int8('0+'),
    }),
    upsertions: f.array('0+', {
      name: f.string('0+'),
      mechanism: f.int8('0+'),
      iterations: f.int32('0+'),
      salt: f.bytes('0+'),
      saltedPassword: f.bytes('0+'),
    }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    results: f.array('0+', {
      user: f.string('0+'),
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+' }),
    }),
  },
});
export type AlterUserScramCredentialsRequest = RequestOf<typeof AlterUserScramCredentials>;
export type AlterUserScramCredentialsResponse = ResponseOf<typeof AlterUserScramCredentials>;
