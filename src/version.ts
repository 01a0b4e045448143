import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** Parapet's version, from package.json (dist/src/version.js → the package root, two levels up). */
export function productVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return cached;
}
