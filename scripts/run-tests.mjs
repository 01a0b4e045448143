// Runs every compiled test file with node:test. Node 20's `--test` takes no globs, so the files are
// listed here; the same command works on Node 22+. Arguments keep only the files whose path contains
// one of them (`node scripts/run-tests.mjs cli-admin`).
//
// The @platformatic/kafka interop tests need the client installed in test/clients/; without it they
// are left out with one line saying so. PARAPET_FULL_SUITE=1 (set by .ci/run) makes that an error,
// as it makes the tests that read ../shared/reference fail instead of skipping (test/helpers/reference.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fullSuiteRequired, interopClientsInstallCommand, interopClientsInstalled, interopClientTestsDir } from './interop-clients.mjs';

const root = 'dist/test';
const only = process.argv.slice(2);
const selected = (f) => only.length === 0 || only.some((o) => f.includes(o));
// Only files whose source still exists: a test moved or deleted since the last build leaves its
// compiled copy in dist/ (tsc never removes outputs), which would otherwise run, and fail, forever.
let files = readdirSync(root, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.js') && existsSync(join('test', f.replace(/\.js$/, '.ts'))))
  .map((f) => join(root, f))
  .filter(selected)
  .sort();

const clientTests = readdirSync(interopClientTestsDir)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('dist', interopClientTestsDir, f.replace(/\.ts$/, '.js')))
  .filter(selected);
if (clientTests.length > 0) {
  if (!interopClientsInstalled()) {
    if (fullSuiteRequired()) {
      console.error(`parapet: PARAPET_FULL_SUITE=1 but @platformatic/kafka is not installed in test/clients/: run \`${interopClientsInstallCommand}\``);
      process.exit(1);
    }
    console.log(
      `parapet: skipping ${clientTests.length} @platformatic/kafka interop test file(s) (${interopClientTestsDir}/): ` +
        `the client is not installed; \`${interopClientsInstallCommand}\` installs it`,
    );
    // Compiled while the client was installed: without it they cannot even load.
    const skipped = join('dist', interopClientTestsDir);
    files = files.filter((f) => !f.startsWith(skipped));
  } else {
    const missing = clientTests.filter((f) => !existsSync(f));
    if (missing.length > 0) {
      console.error(`parapet: ${missing.join(', ')} not compiled: run \`npm run build\``);
      process.exit(1);
    }
  }
}

if (files.length === 0) {
  if (clientTests.length > 0 && !interopClientsInstalled()) process.exit(0);
  console.error('no test files found under', root);
  process.exit(1);
}
// Most files run two at a time (each is its own process): the suite takes twice the cores' time
// otherwise. The ones that measure the broker under load (the abuse suite, the resource limits, and
// anything named *-timing) run afterwards one at a time, so that no other test's load is in their figures.
const exclusive = (f) => /[/\\](abuse|security[/\\]limits-)/.test(f) || /timing\.test\.js$/.test(f);
const shared = files.filter((f) => !exclusive(f));
const alone = files.filter(exclusive);
let status = 0;
if (shared.length > 0) status = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...shared], { stdio: 'inherit' }).status ?? 1;
if (alone.length > 0) {
  const second = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...alone], { stdio: 'inherit' }).status ?? 1;
  status = status === 0 ? second : status;
}
process.exit(status);
