import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * AlterClientQuotas (49, KIP-546): sets or removes quota values of entities (a user, a client id, or
 * both; a null name is the type's default). Answered per entry; `validateOnly` checks without storing.
 */
export const AlterClientQuotas = api({
  apiKey: 49,
  name: 'AlterClientQuotas',
  versions: '0-1',
  flexible: '1+',
  request: {
    entries: f.array('0+', {
      entity: f.array('0+', {
        entityType: f.string('0+'),
        entityName: f.string('0+', { nullable: '0+' }),
      }),
      ops: f.array('0+', {
        key: f.string('0+'),
        value: f.float64('0+'),
        remove: f.bool('0+'),
      }),
    }),
    validateOnly: f.bool('0+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    entries: f.array('0+', {
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+' }),
      entity: f.array('0+', {
        entityType: f.string('0+'),
        entityName: f.string('0+', { nullable: '0+' }),
      }),
    }),
  },
});
export type AlterClientQuotasRequest = RequestOf<typeof AlterClientQuotas>;
export type AlterClientQuotasResponse = ResponseOf<typeof AlterClientQuotas>;
