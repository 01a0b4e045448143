import { randomBytes } from 'node:crypto';
import { DEFAULT_ENCRYPTION_AT_REST, type EncryptionAtRestConfig } from '../../src/storage/crypto/key-setup.js';

/**
 * Encryption at rest for the brokers tests start in-process: a master key of this test process, from
 * the environment (a `${env:…}` reference, as an operator may give one), so that no test writes a
 * master key file beside its temporary data directory. Child processes inherit it.
 */
export const TEST_MASTER_KEY_ENV = 'PARAPET_TEST_MASTER_KEY';
process.env[TEST_MASTER_KEY_ENV] ??= randomBytes(32).toString('base64');

export const TEST_ENCRYPTION_AT_REST: EncryptionAtRestConfig = { ...DEFAULT_ENCRYPTION_AT_REST, masterKey: `\${env:${TEST_MASTER_KEY_ENV}}` };
