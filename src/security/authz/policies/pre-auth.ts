/**
 * The policies of the APIs a client sends before it has authenticated (../../pre-authentication.ts):
 * they name no resource, so they are forwarded unchanged.
 */
import { PRE_AUTHENTICATION_APIS } from '../../pre-authentication.js';
import { definePolicy } from './support.js';

export const PRE_AUTH_POLICIES = PRE_AUTHENTICATION_APIS.map((api) => definePolicy(api, (body) => ({ kind: 'forward', body })));
