import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DescribeClientQuotas (48, KIP-546): the stored quota entities matching a filter. A component's match
 * type is 0 (exactly this name), 1 (the type's default) or 2 (any entity of the type); `strict` leaves
 * out entities that also name a type the filter does not.
 */
export const DescribeClientQuotas = api({
  apiKey: 48,
  name: 'DescribeClientQuotas',
  versions: '0-1',
  flexible: '1+',
  request: {
    components: f.array('0+', {
      entityType: f.string('0+'),
      matchType: f.int8('0+'),
      match: f.string('0+', { nullable: '0+' }),
    }),
    strict: f.bool('0+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
    errorMessage: f.string('0+', { nullable: '0+' }),
    entries: f.array(
      '0+',
      {
        entity: f.array('0+', {
          entityType: f.string('0+'),
          entityName: f.string('0+', { nullable: '0+' }),
        }),
        values: f.array('0+', {
          key: f.string('0+'),
          value: f.float64('0+'),
        }),
      },
      { nullable: '0+' },
    ),
  },
});
export type DescribeClientQuotasRequest = RequestOf<typeof DescribeClientQuotas>;
export type DescribeClientQuotasResponse = ResponseOf<typeof DescribeClientQuotas>;
