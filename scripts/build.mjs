// Compiles the TypeScript sources to dist/ (`npm run build`, and `npm install`/`npm ci` through
// `prepare`). With --if-changed it first compares a fingerprint of everything the compiler reads
// with the one written after the last successful build, and returns at once when they match: this
// is what `npm start`, `npm test` and the bench scripts run, so an unchanged tree starts in well
// under a second instead of paying for a compiler run.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interopClientsInstalled } from './interop-clients.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const stampFile = join(root, 'dist', '.build-stamp');
/** The CLI that `npm link` and global installs put on the PATH: it must stay executable after a rebuild. */
const binFile = join(root, 'dist', 'src', 'cli', 'main.js');

/**
 * With @platformatic/kafka installed in test/clients/, the config beside its interop tests, which
 * compiles the whole project plus those tests; without it, the root config, which leaves them out.
 */
function tsconfig() {
  return interopClientsInstalled() ? 'test/interop/platformatic/tsconfig.json' : 'tsconfig.json';
}

/** Paths, sizes and modification times of the compiler's inputs: any edit, addition or removal changes it. */
function fingerprint(config) {
  const hash = createHash('sha256').update(`${config}\n`);
  const add = (file) => {
    const s = statSync(file, { throwIfNoEntry: false });
    hash.update(`${relative(root, file)} ${s === undefined ? '-' : `${s.size} ${s.mtimeMs}`}\n`);
  };
  for (const dir of ['src', 'test', 'bench', 'scripts']) {
    const files = readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.split(/[\\/]/).includes('node_modules'))
      .sort();
    for (const f of files) add(join(root, dir, f));
  }
  for (const f of ['tsconfig.json', 'test/interop/platformatic/tsconfig.json', 'package.json', 'package-lock.json']) add(join(root, f));
  add(join(root, 'test/clients/node_modules/@platformatic/kafka/package.json'));
  return hash.digest('hex');
}

function readStamp() {
  try {
    return readFileSync(stampFile, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Runs tsc, saying what it does: a first build takes from ~10 s to about a minute depending on the machine. */
async function compile(config) {
  const first = !existsSync(binFile);
  process.stderr.write(
    first
      ? 'parapet: compiling TypeScript to dist/ (the first build takes up to a minute)…\n'
      : `parapet: compiling TypeScript${ifChanged ? ', changed since the last build' : ''} (${config})…\n`,
  );
  let tsc;
  try {
    tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('parapet: TypeScript is not installed; run `npm ci` in the project directory first\n');
    return 1;
  }
  const started = Date.now();
  // On a terminal, a ticking counter shows the compiler is still working.
  const ticker = process.stderr.isTTY
    ? setInterval(() => process.stderr.write(`\rparapet: still compiling, ${Math.round((Date.now() - started) / 1000)} s`), 1000)
    : undefined;
  const child = spawn(process.execPath, [tsc, '-p', config], { cwd: root, stdio: 'inherit' });
  const code = await new Promise((resolve) => child.on('close', (status) => resolve(status ?? 1)));
  if (ticker !== undefined) {
    clearInterval(ticker);
    process.stderr.write('\r\x1b[K');
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(code === 0 ? `parapet: compiled in ${seconds} s\n` : `parapet: TypeScript errors (after ${seconds} s)\n`);
  return code;
}

const ifChanged = process.argv.includes('--if-changed');
const config = tsconfig();
const before = fingerprint(config);
if (ifChanged && readStamp() === before && existsSync(binFile)) process.exit(0);

rmSync(stampFile, { force: true });
const code = await compile(config);
if (code !== 0) process.exit(code);
chmodSync(binFile, 0o755);
// The fingerprint taken before compiling: a file saved during the build makes the next run compile again.
writeFileSync(stampFile, `${before}\n`);
