// The layers of src/ (docs/contributing.md, "Layers") are enforced by `npm run lint`: each folder has a
// no-restricted-imports rule generated from the LAYERS table in eslint.config.js. These tests lint
// planted sources through ESLint's Node API with the project's own config, so they fail if the rule
// stops catching an upward import, or starts refusing an allowed one.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { projectRoot } from '../../helpers/reference.js';

// Only the layer rule runs, without type information: the planted files are in no tsconfig, and the
// type-checked rules have nothing to say about imports.
const eslint = new ESLint({
  cwd: projectRoot,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});

/** The layer errors for `code` linted as if it were the file at `filePath` (relative to the root). */
async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(projectRoot, filePath) });
  assert.ok(result !== undefined);
  const fatal = result.messages.filter((m) => m.fatal === true);
  assert.deepEqual(fatal, [], `${filePath} did not parse`);
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

/** [file, import specifier, allowed] */
const cases: [string, string, boolean][] = [
  // storage: records, bytes, basics; not the protocol nor anything above.
  ['src/storage/x.ts', '../broker/broker.js', false],
  ['src/storage/x.ts', '../protocol/error-codes.js', false],
  ['src/storage/log/x.ts', '../../protocol/error-codes.js', false],
  ['src/storage/log/x.ts', '../../security/types.js', false],
  ['src/storage/x.ts', '../records/batch.js', true],
  ['src/storage/log/x.ts', '../../bytes/reader.js', true],
  ['src/storage/x.ts', '../errors.js', true],
  ['src/storage/log/x.ts', '../metadata-store.js', true],
  // basics, bytes, records: nothing above them.
  ['src/x.ts', './bytes/reader.js', false],
  ['src/x.ts', './errors.js', true],
  ['src/bytes/x.ts', '../records/batch.js', false],
  ['src/records/x.ts', '../protocol/codec.js', false],
  ['src/records/x.ts', '../storage/outcomes.js', false],
  ['src/records/x.ts', '../bytes/writer.js', true],
  ['src/protocol/messages/x.ts', '../../records/batch.js', true],
  ['src/protocol/x.ts', '../storage/metadata-store.js', false],
  ['src/protocol/x.ts', '../server/dispatcher.js', false],
  // security: the protocol and storage, not the server, the broker or the client.
  ['src/security/sasl/x.ts', '../../storage/metadata-store.js', true],
  ['src/security/authz/policies/x.ts', '../../../server/dispatcher.js', false],
  ['src/security/x.ts', '../client/admin.js', false],
  // groups and topics: the domain, side by side, neither importing the other.
  ['src/groups/x.ts', '../security/types.js', true],
  ['src/groups/x.ts', '../topics/x.js', false],
  ['src/topics/x.ts', '../groups/offsets.js', false],
  ['src/topics/x.ts', '../storage/metadata-store.js', true],
  ['src/topics/x.ts', '../broker/broker.js', false],
  // server: no storage, domain, broker, client, config, setup or cli.
  ['src/server/x.ts', '../security/events.js', true],
  ['src/server/x.ts', '../storage/metadata-store.js', false],
  ['src/server/x.ts', '../groups/coordinator.js', false],
  ['src/server/x.ts', '../broker/broker.js', false],
  ['src/server/stages/x.ts', '../../config/config-file.js', false],
  // broker: everything below; not the config file, setup, the client or the CLI.
  ['src/broker/handlers/x.ts', '../../server/dispatcher.js', true],
  ['src/broker/x.ts', '../groups/coordinator.js', true],
  ['src/broker/x.ts', '../config/config-file.js', false],
  ['src/broker/x.ts', '../client/admin.js', false],
  ['src/broker/x.ts', '../setup/init.js', false],
  ['src/broker/x.ts', '../cli/main.js', false],
  // client: a side branch. Of security, only the pure SCRAM math and the shared types.
  ['src/client/x.ts', '../security/credentials/scram-keys.js', true],
  ['src/client/x.ts', '../security/types.js', true],
  ['src/client/x.ts', '../security/sasl/scram.js', false],
  ['src/client/x.ts', '../security/credentials/credential-store.js', false],
  ['src/client/x.ts', '../security/config.js', false],
  ['src/client/x.ts', '../server/listener.js', false],
  ['src/client/x.ts', '../broker/broker.js', false],
  ['src/client/x.ts', '../storage/metadata-store.js', false],
  ['src/client/x.ts', '../protocol/frames.js', true],
  // setup, config, cli.
  ['src/setup/x.ts', '../client/client-config.js', true],
  ['src/setup/x.ts', '../broker/broker.js', false],
  ['src/config/x.ts', '../broker/broker.js', true],
  ['src/config/x.ts', '../cli/main.js', false],
  ['src/cli/admin/x.ts', '../../config/config-file.js', true],
  ['src/cli/x.ts', '../setup/init.js', true],
  // src/ never imports test/ or bench/; they import anything in src/.
  ['src/protocol/x.ts', '../../test/helpers/client.js', false],
  ['src/cli/x.ts', '../../bench/codec.js', false],
  ['src/x.ts', '../test/helpers/client.js', false],
  ['test/unit/x.test.ts', '../../src/broker/broker.js', true],
  ['bench/x.ts', '../src/storage/metadata-store.js', true],
  // Packages are not layers.
  ['src/storage/x.ts', 'node:test', true],
];

describe('layers (eslint.config.js LAYERS, docs/contributing.md)', () => {
  it("refuses an import of a higher layer, naming the rule's table", async () => {
    const errors = await layerErrors('src/storage/x.ts', "import '../broker/broker.js';\n");
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /Layers \(docs\/contributing\.md\): src\/storage may import records, bytes, basics; not src\/broker/);
  });

  for (const [file, specifier, allowed] of cases) {
    it(`${file}: ${specifier} is ${allowed ? 'allowed' : 'refused'}`, async () => {
      const errors = await layerErrors(file, `import { x } from '${specifier}';\nexport const y = x;\n`);
      assert.equal(errors.length, allowed ? 0 : 1, errors.join('\n'));
    });
  }

  it('checks import type and re-exports too', async () => {
    assert.equal((await layerErrors('src/records/x.ts', "import type { ErrorCode } from '../protocol/error-codes.js';\nexport type E = ErrorCode;\n")).length, 1);
    assert.equal((await layerErrors('src/storage/x.ts', "export { Broker } from '../broker/broker.js';\n")).length, 1);
    assert.equal((await layerErrors('src/storage/x.ts', "export * from '../server/dispatcher.js';\n")).length, 1);
  });

  it('has a row for every folder in src/, and no nested folder reuses a layer name', async () => {
    const config = (await import(pathToFileURL(join(projectRoot, 'eslint.config.js')).href)) as { LAYERS: [string, string[]][] };
    const layers = new Set(config.LAYERS.map(([layer]) => layer));
    const src = join(projectRoot, 'src');
    const top = readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    for (const folder of top) assert.ok(layers.has(folder), `src/${folder} has no row in LAYERS (eslint.config.js)`);
    // The rule matches relative imports by folder name: src/x/storage/ would read as the storage layer.
    const nested = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((p) => p.includes('/'))
      .filter((p) => !p.endsWith('.ts'))
      .map((p) => p.split('/').at(-1) ?? '');
    for (const name of nested) assert.ok(!layers.has(name) && name !== 'test' && name !== 'bench', `a folder nested in src/ is named ${name}`);
  });

  it("today's src/ respects the layers", async () => {
    const results = await eslint.lintFiles(['src/**/*.ts']);
    const errors = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${String(m.line)} ${m.message}`));
    assert.deepEqual(errors, []);
  });
});
