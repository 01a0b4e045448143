import { usesSasl, usesTls, type ListenerProtocol, type SecurityConfig } from './config.js';

/**
 * Whether anybody at all can log in to a broker with this listener and these settings, given how many
 * SCRAM users its store holds. A broker nobody can log in to is useless and, worse, looks healthy;
 * `parapet start` refuses it, naming the fix. Returns the reason, or undefined when there is a way in:
 * a SCRAM user, OAUTHBEARER tokens (the issuer makes the principals), client certificates on an SSL
 * listener, or an anonymous listener the insecure switches allow.
 */
export function noWayIn(protocol: ListenerProtocol, security: SecurityConfig, scramUsers: number): string | undefined {
  if (!usesSasl(protocol)) return undefined;
  const mechanisms = security.sasl.mechanisms.filter((m) => m !== 'PLAIN' || usesTls(protocol));
  if (mechanisms.includes('OAUTHBEARER')) return undefined;
  if (scramUsers > 0) return undefined;
  return `no user can log in: the listener accepts only ${mechanisms.join(', ')} and the metadata store holds no SCRAM user`;
}
