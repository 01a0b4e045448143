/**
 * The one list of APIs a client may send before it has authenticated (anything else closes the
 * connection: docs/security/authentication.md#what-is-allowed-before-authentication). They name no
 * resource: ApiVersions must answer before a client knows which SASL versions to speak, and the SASL
 * exchange is what establishes the principal in the first place. The authentication gate lets them
 * through; their authorization policies and name checks pass them on.
 */
import { ApiVersions } from '../protocol/messages/api-versions.js';
import { SaslAuthenticate } from '../protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../protocol/messages/sasl-handshake.js';

export const PRE_AUTHENTICATION_APIS = [ApiVersions, SaslHandshake, SaslAuthenticate] as const;

const KEYS: ReadonlySet<number> = new Set(PRE_AUTHENTICATION_APIS.map((api) => api.apiKey));

export function isPreAuthenticationApi(apiKey: number): boolean {
  return KEYS.has(apiKey);
}
