import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { DEFAULT_AUDIT_CONFIG, type AuditConfig } from '../../src/audit/audit-config.js';
import { DEFAULT_ENCRYPTION_AT_REST, type EncryptionAtRestConfig } from '../../src/storage/crypto/key-setup.js';

/**
 * Encryption at rest for the brokers tests start in-process: a master key of this test process, from
 * the environment (a `${env:…}` reference, as an operator may give one), so that no test writes a
 * master key file beside its temporary data directory. Child processes inherit it.
 */
export const TEST_MASTER_KEY_ENV = 'PARAPET_TEST_MASTER_KEY';
process.env[TEST_MASTER_KEY_ENV] ??= randomBytes(32).toString('base64');

export const TEST_ENCRYPTION_AT_REST: EncryptionAtRestConfig = { ...DEFAULT_ENCRYPTION_AT_REST, masterKey: `\${env:${TEST_MASTER_KEY_ENV}}` };

/**
 * The audit trail's checkpoint key for in-process brokers, from the environment like the master key,
 * so that no test writes a signing key file beside its temporary data directory.
 */
export const TEST_AUDIT_SIGNING_KEY_ENV = 'PARAPET_TEST_AUDIT_SIGNING_KEY';
process.env[TEST_AUDIT_SIGNING_KEY_ENV] ??= generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

export const TEST_AUDIT: AuditConfig = { ...DEFAULT_AUDIT_CONFIG, signingKey: `\${env:${TEST_AUDIT_SIGNING_KEY_ENV}}` };
