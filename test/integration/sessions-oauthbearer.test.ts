import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import { CloseReasons } from '../../src/close-reasons.js';
import { DEFAULT_SECURITY_CONFIG } from '../../src/security/config.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { appAcls } from '../interop/security-support.js';
import { closedWith, sessionsOf } from './session-support.js';

/**
 * An OAUTHBEARER session ends with its token (KIP-368), not an hour later: the broker answers the time
 * left to the token's exp as session_lifetime_ms, and KafkaJS asks its token provider for a new token and
 * logs in again on the same connection before then.
 */

const TOKEN_SECONDS = 3;

describe('OAUTHBEARER sessions end with their token', () => {
  it('KafkaJS re-authenticates with fresh tokens on the same connection; the session never outlives a token', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-session-jwks-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const issuer = 'https://idp.example.test/realms/parapet';
    const audience = 'parapet-cluster';
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    const expiries: number[] = [];
    const token = async (): Promise<string> => {
      const exp = Math.floor(Date.now() / 1000) + TOKEN_SECONDS;
      expiries.push(exp * 1000);
      return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setSubject('svc-orders').setAudience(audience).setIssuedAt().setExpirationTime(exp).sign(privateKey);
    };

    const b = await startSecureBroker(t, {
      acls: appAcls('User:svc-orders', 'orders', 'unused'),
      security: {
        sasl: { ...DEFAULT_SECURITY_CONFIG.sasl, failedAuthenticationDelayMs: 0, mechanisms: ['SCRAM-SHA-512', 'OAUTHBEARER'], oauthbearer: { jwksFile, issuer, audience: [audience] } },
      },
    });
    assert.equal(b.config.connectionsMaxReauthMs, 3_600_000, 'the default lifetime: the token is what ends the session here');
    await createTopic(b.adminProperties, 'orders');

    const kafka = new Kafka({
      clientId: 'orders-service',
      brokers: [b.bootstrap],
      ssl: { ca: [readFileSync(b.caFile)] },
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await token() }) },
      logLevel: logLevel.NOTHING,
      // Logs in again when less than this is left (KafkaJS's default, 10 s, is longer than these tokens).
      reauthenticationThreshold: 1000,
    });
    const producer = kafka.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    const eventsBefore = b.events.length;
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < TOKEN_SECONDS * 1000 * 2.5) {
      await producer.send({ topic: 'orders', messages: [{ value: `m-${sent++}` }] });
      const open = sessionsOf(b, 'User:svc-orders');
      for (const s of open) {
        const ends = Date.parse(s.sessionExpiresAt ?? 'never');
        assert.ok(Number.isFinite(ends) && expiries.some((exp) => ends <= exp), `a session ends with its token: ${s.sessionExpiresAt ?? 'never'}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const during = b.events.slice(eventsBefore);
    const logins = new Map<number, number>();
    for (const e of during) if (e.type === 'authentication-succeeded' && e.mechanism === 'OAUTHBEARER') logins.set(e.connection, (logins.get(e.connection) ?? 0) + 1);
    t.diagnostic(`${sent} sends, ${expiries.length} tokens, logins per connection: ${JSON.stringify([...logins])}`);
    assert.ok(Math.max(0, ...logins.values()) >= 2, 'one connection logged in again with a new token');
    assert.deepEqual(closedWith(during, CloseReasons.SESSION_EXPIRED), []);
    assert.deepEqual(closedWith(during, CloseReasons.AUTHENTICATION_FAILED), []);
  });
});
