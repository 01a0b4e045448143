import type { HandlerEntry } from '../../server/handler.js';
import { ApiVersions } from '../../protocol/messages/api-versions.js';

/** ApiVersions: advertises exactly the APIs this broker has handlers for, with their schema ranges. */
export function apiVersionsHandler(served: () => readonly HandlerEntry[]): HandlerEntry {
  return {
    api: ApiVersions,
    handle: () => ({
      errorCode: 0,
      apiKeys: served()
        .map(({ api }) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }))
        .sort((a, b) => a.apiKey - b.apiKey),
      throttleTimeMs: 0,
    }),
  };
}
