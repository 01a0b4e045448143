import { isLoopback, type Posture } from '../security/config.js';

/** The HTTP admin endpoint: Prometheus metrics, /healthz and /readyz (docs/operations/monitoring.md). */
export interface AdminEndpointConfig {
  readonly enabled: boolean;
  /** Loopback by default: anything else needs TLS and a bearer token or client certificates. */
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** HTTPS: the server certificate and key, and a CA whose client certificates are required (mTLS). */
  readonly tls?: AdminEndpointTls;
  /** `${file:…}` or `${env:…}`: every request must carry `Authorization: Bearer <token>`. */
  readonly bearerToken?: string;
}

export interface AdminEndpointTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA of the client certificates; needed by `clientAuth: required`. */
  readonly caFile?: string;
  /** `required`: only clients with a certificate signed by `caFile` connect (mTLS). Default `none`. */
  readonly clientAuth?: 'none' | 'required';
}

/** Loopback, port 9644 (the port Redpanda serves its admin API and metrics on): set adminEndpoint.port to change it. */
export const DEFAULT_ADMIN_ENDPOINT: AdminEndpointConfig = { enabled: true, host: '127.0.0.1', port: 9644 };

/**
 * The endpoint's posture, checked before the broker starts: on a loopback address anything goes (only
 * local processes reach it); on any other, TLS and a proof of the client (a bearer token, or client
 * certificates) are required, unless `allowInsecureAdminEndpoint` says otherwise, which is then
 * warned about at every start. Metrics name topics, groups and principals: they are not public.
 */
export function checkAdminEndpoint(config: AdminEndpointConfig, allowInsecure: boolean): Posture {
  const errors: string[] = [];
  const warnings: { setting: string; detail: string }[] = [];
  const tls = config.tls;
  if (tls?.clientAuth === 'required' && tls.caFile === undefined) errors.push('adminEndpoint.tls.clientAuth required needs adminEndpoint.tls.caFile (the CA of the client certificates)');
  if (!config.enabled || isLoopback(config.host)) return { errors, warnings };
  const authenticated = config.bearerToken !== undefined || tls?.clientAuth === 'required';
  const missing = [...(tls === undefined ? ['TLS (adminEndpoint.tls)'] : []), ...(authenticated ? [] : ['a bearer token (adminEndpoint.bearerToken) or client certificates (adminEndpoint.tls.clientAuth: required)'])];
  if (missing.length === 0) return { errors, warnings };
  if (allowInsecure) {
    warnings.push({ setting: 'allowInsecureAdminEndpoint', detail: `the admin endpoint on ${config.host} is reachable from other machines without ${missing.join(' and ')}: metrics name topics, groups and principals` });
  } else {
    errors.push(`the admin endpoint may only bind a loopback address without ${missing.join(' and ')}, not ${config.host}: configure them, or set allowInsecureAdminEndpoint: true to allow it`);
  }
  return { errors, warnings };
}
