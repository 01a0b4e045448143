import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DescribeUserScramCredentials (50): null `users` means all users. Only the mechanism (1 SHA-256,
 * 2 SHA-512) and iteration count of each credential are returned, never salts or keys.
 */
export const DescribeUserScramCredentials = api({
  apiKey: 50,
  name: 'DescribeUserScramCredentials',
  versions: '0',
  flexible: '0+',
  request: {
    users: f.array('0+', { name: f.string('0+') }, { nullable: '0+' }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
    errorMessage: f.string('0+', { nullable: '0+' }),
    results: f.array('0+', {
      user: f.string('0+'),
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+' }),
      credentialInfos: f.array('0+', {
        mechanism: f.int8('0+'),
        iterations: f.int32('0+'),
      }),
    }),
  },
});
export type DescribeUserScramCredentialsRequest = RequestOf<typeof DescribeUserScramCredentials>;
export type DescribeUserScramCredentialsResponse = ResponseOf<typeof DescribeUserScramCredentials>;
