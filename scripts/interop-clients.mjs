// Kafka clients the interop tests drive that stay out of Parapet's default install, because their
// packages declare engines Parapet does not require (@platformatic/kafka 1.35 runs on Node 20.19, but
// two of its own dependencies declare Node >= 22.19, so `npm ci` would warn on every install).
// `npm run install:interop-clients` installs them into test/clients/ from its own lock file.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Their tests, compiled only when the clients are installed (test/interop/platformatic/tsconfig.json). */
export const interopClientTestsDir = 'test/interop/platformatic';

export const interopClientsInstallCommand = 'npm run install:interop-clients';

export function interopClientsInstalled() {
  return existsSync(fileURLToPath(new URL('../test/clients/node_modules/@platformatic/kafka/package.json', import.meta.url)));
}

/** Set by .ci/run: every optional part of the test suite must be there, and a missing one fails the run. */
export function fullSuiteRequired() {
  return process.env.PARAPET_FULL_SUITE === '1';
}
