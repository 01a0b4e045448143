import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * ApiVersions (18). Its response always travels with response header v0, even in flexible versions
 * (see `responseHeaderVersion` in ../frames.ts); a request for a version above ours is answered in the
 * v0 layout with UNSUPPORTED_VERSION (KIP-511).
 */
export const ApiVersions = api({
  apiKey: 18,
  name: 'ApiVersions',
  versions: '0-3',
  flexible: '3+',
  request: {
    clientSoftwareName: f.string('3+'),
    clientSoftwareVersion: f.string('3+'),
  },
  response: {
    errorCode: f.int16('0+'),
    apiKeys: f.array('0+', {
      apiKey: f.int16('0+'),
      minVersion: f.int16('0+'),
      maxVersion: f.int16('0+'),
    }),
    throttleTimeMs: f.int32('1+'),
    supportedFeatures: f.array(
      '3+',
      { name: f.string('3+'), minVersion: f.int16('3+'), maxVersion: f.int16('3+') },
      { tag: 0, taggedVersions: '3+' },
    ),
    finalizedFeaturesEpoch: f.int64('3+', { tag: 1, taggedVersions: '3+', default: -1n }),
    finalizedFeatures: f.array(
      '3+',
      { name: f.string('3+'), maxVersionLevel: f.int16('3+'), minVersionLevel: f.int16('3+') },
      { tag: 2, taggedVersions: '3+' },
    ),
    zkMigrationReady: f.bool('3+', { tag: 3, taggedVersions: '3+', default: false }),
  },
});
export type ApiVersionsRequest = RequestOf<typeof ApiVersions>;
export type ApiVersionsResponse = ResponseOf<typeof ApiVersions>;
