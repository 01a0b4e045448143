import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../helpers/reference.js';

const run = promisify(execFile);

/**
 * `npm link --ignore-scripts` as the README documents it, into a throwaway global prefix: npm links
 * the clone (no download, hence --offline), and the `parapet` command then works from any directory.
 */
describe('parapet installed as a command', () => {
  it('npm link puts a parapet command on the PATH that runs from any directory', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-link-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const prefix = join(dir, 'prefix');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const env = { ...process.env, npm_config_prefix: prefix };
    const link = await run('npm', ['link', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], { cwd: projectRoot, env, timeout: 60_000 });
    assert.equal(link.stderr, '', 'npm link prints no warning');
    assert.equal(realpathSync(join(prefix, 'lib', 'node_modules', 'parapet')), realpathSync(projectRoot), 'a link to the clone, not a copy');

    const { stdout, stderr } = await run(join(prefix, 'bin', 'parapet'), ['apis'], { cwd: elsewhere, env, timeout: 30_000 });
    assert.equal(stderr, '');
    assert.match(stdout, /^\s*0\s+Produce\s+v\d+-v\d+/m);
    assert.match(stdout, /^\s*18\s+ApiVersions\s+v0-v\d+/m);
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing written into the working directory');
  });
});
