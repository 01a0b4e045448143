// Lint rules: typescript-eslint's strictest type-checked preset. Floating promises are errors
// because an unhandled rejection in a connection handler would crash the broker.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { interopClientsInstalled, interopClientTestsDir } from './scripts/interop-clients.mjs';

// Tests of clients outside the default install have no types to check until those are installed
// (npm run install:interop-clients; CI always does).
const uninstalledClientTests = interopClientsInstalled() ? [] : [`${interopClientTestsDir}/**`];

export default tseslint.config(
  { ignores: ['dist/**', '.build-*/**', 'node_modules/**', 'scripts/**/*.mjs', 'eslint.config.js', 'test/clients/**', ...uninstalledClientTests] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  // The layers under the wire: the record batch format and storage know nothing of the Kafka protocol
  // (storage returns its own outcomes; the broker maps them to error codes, src/broker/storage-errors.ts).
  {
    files: ['src/bytes/**/*.ts', 'src/records/**/*.ts', 'src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/protocol/*', '**/broker/*', '**/server/*', '**/client/*', '**/groups/*', '**/security/*'],
              message: 'src/bytes, src/records and src/storage sit under the wire protocol and the broker: they may not import them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/bytes/**/*.ts', 'src/records/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/protocol/*', '**/broker/*', '**/server/*', '**/client/*', '**/groups/*', '**/security/*', '**/storage/*'],
              message: 'src/bytes and src/records sit under storage and the wire protocol: they may not import them.',
            },
          ],
        },
      ],
    },
  },
);
