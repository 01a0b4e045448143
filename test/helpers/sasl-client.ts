import type { TestContext } from 'node:test';
import { ScramClient } from '../../src/client/scram-client.js';
import { SaslAuthenticate } from '../../src/protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../../src/protocol/messages/sasl-handshake.js';
import type { ScramMechanismName } from '../../src/security/types.js';
import { RawConnection } from './raw-client.js';

export interface SaslAuthenticateResult {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
}

/**
 * The raw connection with the SASL steps spelled out, for the security tests: every request and
 * SASL token is sent explicitly, so a test can misbehave on purpose (replay, skip the handshake, send
 * garbage).
 */
export class SaslTestConnection extends RawConnection {
  /** Opens a TLS connection verified against `caFile` (or plain TCP when caFile is null), closed when the test ends. */
  static async open(t: TestContext, port: number, caFile: string | null): Promise<SaslTestConnection> {
    const conn = await SaslTestConnection.connect(port, caFile === null ? undefined : { caLocation: caFile });
    t.after(() => {
      conn.close();
    });
    return conn;
  }

  async handshake(mechanism: string, version = 1): Promise<{ errorCode: number; mechanisms: string[] }> {
    return (await this.request(SaslHandshake, version, { mechanism })) as { errorCode: number; mechanisms: string[] };
  }

  async authenticate(authBytes: Buffer, version = 1): Promise<SaslAuthenticateResult> {
    return (await this.request(SaslAuthenticate, version, { authBytes })) as unknown as SaslAuthenticateResult;
  }

  /**
   * A full SCRAM exchange with SaslHandshake v1 + SaslAuthenticate. Returns the last response and the
   * client-final message sent (for replay tests); stops at the first error.
   */
  async scram(mechanism: ScramMechanismName, user: string, password: string): Promise<{ result: SaslAuthenticateResult; clientFinal: Buffer | null }> {
    const hs = await this.handshake(mechanism);
    if (hs.errorCode !== 0) throw new Error(`handshake error ${hs.errorCode}`);
    const scram = new ScramClient(mechanism, user, password);
    const first = await this.authenticate(scram.clientFirst());
    if (first.errorCode !== 0) return { result: first, clientFinal: null };
    const clientFinal = scram.clientFinal(first.authBytes);
    const result = await this.authenticate(clientFinal);
    if (result.errorCode === 0) scram.verifyServerFinal(result.authBytes);
    return { result, clientFinal };
  }
}
