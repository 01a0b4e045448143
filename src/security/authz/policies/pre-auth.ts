/**
 * The APIs a client sends before it has authenticated (DESIGN.md: only these are accepted then). They
 * name no resource and are forwarded unchanged: ApiVersions must answer before a client knows which
 * SASL versions to speak, and the SASL exchange is what establishes the principal in the first place.
 */
import { ApiVersions } from '../../../protocol/messages/api-versions.js';
import { SaslAuthenticate } from '../../../protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../../../protocol/messages/sasl-handshake.js';
import { definePolicy } from './support.js';

export const apiVersionsPolicy = definePolicy(ApiVersions, (body) => ({ kind: 'forward', body }));
export const saslHandshakePolicy = definePolicy(SaslHandshake, (body) => ({ kind: 'forward', body }));
export const saslAuthenticatePolicy = definePolicy(SaslAuthenticate, (body) => ({ kind: 'forward', body }));

export const PRE_AUTH_POLICIES = [apiVersionsPolicy, saslHandshakePolicy, saslAuthenticatePolicy] as const;
