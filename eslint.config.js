// Lint rules: typescript-eslint's strictest type-checked preset. Floating promises are errors
// because an unhandled rejection in a connection handler would crash the broker.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { interopClientsInstalled, interopClientTestsDir } from './scripts/interop-clients.mjs';

// Tests of clients outside the default install have no types to check until those are installed
// (npm run install:interop-clients; CI always does).
const uninstalledClientTests = interopClientsInstalled() ? [] : [`${interopClientTestsDir}/**`];

// Layers under src/, bottom to top (docs/contributing.md, "Layers"). A folder may import itself and
// the layers it names; every name must be a row below its own, so no arrow can point upwards. An entry
// with a slash allows that one file of a layer and nothing else of it. `basics` is the files directly
// in src/. bench/ and test/ may import anything; nothing in src/ may import them.
//   layer       may import
export const LAYERS = [
  ['basics',   []],
  ['bytes',    ['basics']],
  ['records',  ['bytes', 'basics']],
  ['protocol', ['records', 'bytes', 'basics']],
  ['storage',  ['records', 'bytes', 'basics']],
  ['backup',   ['storage', 'records', 'bytes', 'basics']],
  ['security', ['protocol', 'storage', 'records', 'bytes', 'basics']],
  ['schemas',  ['security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['groups',   ['security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['transactions', ['groups', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['topics',   ['security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['quotas',   ['security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['governance', ['schemas', 'topics', 'security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['audit',    ['topics', 'security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['server',   ['governance', 'schemas', 'quotas', 'audit', 'security', 'protocol', 'records', 'bytes', 'basics']],
  ['metrics',  ['server', 'governance', 'schemas', 'backup', 'security', 'protocol', 'records', 'bytes', 'basics']],
  ['broker',   ['metrics', 'server', 'governance', 'schemas', 'audit', 'quotas', 'transactions', 'groups', 'topics', 'security', 'protocol', 'backup', 'storage', 'records', 'bytes', 'basics']],
  ['client',   ['security/types.ts', 'security/credentials/scram-keys.ts', 'protocol', 'records', 'bytes', 'basics']],
  ['posture',  ['client', 'protocol', 'records', 'bytes', 'basics']],
  ['setup',    ['client', 'audit', 'security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['config',   ['broker', 'metrics', 'server', 'governance', 'schemas', 'audit', 'quotas', 'transactions', 'groups', 'topics', 'security', 'protocol', 'storage', 'records', 'bytes', 'basics']],
  ['cli',      ['config', 'setup', 'posture', 'client', 'broker', 'metrics', 'server', 'governance', 'schemas', 'audit', 'quotas', 'transactions', 'groups', 'topics', 'security', 'protocol', 'backup', 'storage', 'records', 'bytes', 'basics']],
];

/**
 * One `no-restricted-imports` block per layer, forbidding every other layer folder it does not name
 * (and test/, bench/). Relative imports are matched by folder name, so no folder nested in src/ may
 * reuse a layer's name (test/unit/lint/layers.test.ts checks that). Dynamic import() is not checked.
 */
function layerRules(layers) {
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A relative import specifier that passes through `<folder>/`: `../storage/x.js`, `../../storage/log/y.js`.
  const into = (folder) => `^\\.\\.?/(?:.*/)?${escape(folder)}/`;
  const below = new Set();
  return layers.map(([layer, uses]) => {
    for (const use of uses) {
      if (!below.has(use.split('/')[0])) throw new Error(`eslint.config.js LAYERS: ${layer} may only import layers below it, not ${use}`);
    }
    below.add(layer);
    const folders = layers.map(([l]) => l).filter((l) => l !== 'basics' && l !== layer && !uses.includes(l));
    const allowedUses = uses.length === 0 ? 'nothing else in src/' : uses.join(', ');
    const patterns = folders.map((folder) => {
      // Files of this folder the layer may import, e.g. client's security/types.ts.
      const files = uses.filter((u) => u.startsWith(`${folder}/`)).map((u) => escape(u.slice(folder.length + 1).replace(/\.ts$/, '.js')));
      return {
        regex: into(folder) + (files.length === 0 ? '' : `(?!(?:${files.join('|')})$)`),
        caseSensitive: true,
        message: `Layers (docs/contributing.md): src/${layer === 'basics' ? '*.ts' : layer} may import ${allowedUses}; not src/${folder}.`,
      };
    });
    for (const folder of ['test', 'bench']) {
      patterns.push({ regex: into(folder), caseSensitive: true, message: `Layers (docs/contributing.md): src/ may not import ${folder}/.` });
    }
    return {
      files: [layer === 'basics' ? 'src/*.ts' : `src/${layer}/**/*.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    };
  });
}

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
  ...layerRules(LAYERS),
);
