import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { doctestBlocks, type DocBlock } from './doc-blocks.js';
import { DocWorkspace } from './doc-harness.js';

/**
 * The docs that run (issue 16, item 5): every ```sh doctest block of docs/ runs, in order, against a
 * broker of its own file (docs/contributing.md#docs-that-run), so a documented command that stops
 * working fails here with its file, line and output.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = join(ROOT, 'docs');
/** One block may take this long; a file's blocks, all together, this long. */
const BLOCK_TIMEOUT_MS = 60_000;
const FILE_TIMEOUT_MS = 240_000;

const files = readdirSync(DOCS, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => ({ path: join('docs', f), blocks: doctestBlocks(readFileSync(join(DOCS, f), 'utf8'), join('docs', f)) }))
  .filter((f) => f.blocks.length > 0);

/** What a failing block reports: where it is, what it ran, and what it printed (secrets replaced). */
function failure(block: DocBlock, why: string, output: string): string {
  const script = block.script.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
  return `${block.file}:${block.line}: the sh doctest block ${why}\n  block:\n${script}\n  output:\n${output.trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}`;
}

// Two files at a time: each file's blocks run in order against its own broker.
describe('the sh doctest blocks of docs/', { concurrency: 2 }, () => {
  it('finds marked blocks in docs/security/', () => {
    // The harness is not idle: a docs/ tree without marked blocks would pass whatever the commands do.
    assert.ok(files.some((f) => f.path.startsWith(join('docs', 'security'))), `marked files: ${files.map((f) => f.path).join(', ')}`);
  });

  for (const file of files) {
    // The blocks of one file in order, one at a time: each may depend on the ones before.
    describe(relative(ROOT, join(ROOT, file.path)), { timeout: FILE_TIMEOUT_MS + 90_000, concurrency: 1 }, () => {
      let ws: DocWorkspace | undefined;
      let broken: string | undefined;
      const deadline = { at: 0 };
      before(async () => {
        ws = await DocWorkspace.start();
        deadline.at = Date.now() + FILE_TIMEOUT_MS;
      });
      after(async () => {
        await ws?.close();
      });
      for (const block of file.blocks) {
        it(`line ${block.line}`, async (t) => {
          if (ws === undefined) throw new Error('no workspace');
          if (broken !== undefined) {
            t.skip(`an earlier block failed (${broken})`);
            return;
          }
          try {
            const left = deadline.at - Date.now();
            assert.ok(left > 0, `${block.file}:${block.line}: the file's blocks took longer than ${FILE_TIMEOUT_MS / 1000} s together`);
            const outcome = await ws.runBlock(block, Math.min(BLOCK_TIMEOUT_MS, left));
            if (outcome.timedOut) assert.fail(failure(block, `did not finish within ${Math.round(Math.min(BLOCK_TIMEOUT_MS, left) / 1000)} s`, outcome.output));
            if (outcome.code !== 0) assert.fail(failure(block, `exited with status ${String(outcome.code)}`, `${outcome.output}\n  broker log (last lines):\n${ws.brokerLog().split('\n').slice(-10).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n')}`));
          } catch (err) {
            broken = `line ${block.line}`;
            throw err;
          }
        });
      }
    });
  }
});
