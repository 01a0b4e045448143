import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Capture, CapturedFile } from '../../backup/contracts.js';

/** What `parapet init` wrote for a broker to start with; keys beside the data directory are not in it. */
const CONFIG_FILE = 'parapet.yaml';
const CONFIG_DIRS = ['tls', 'client'];

/**
 * The capture with the data directory's start-up files added, so that a restored directory starts as
 * the backed-up one did (same listener settings, certificates, client files). They are small and
 * rewritten whole (by `parapet tls rotate`, say): read as they are when the backup runs.
 */
export function withConfigFiles(capture: Capture, dataDir: string): Capture {
  const files: CapturedFile[] = [];
  const add = (relative: string) => {
    const source = join(dataDir, ...relative.split('/'));
    const stat = statSync(source);
    if (stat.isFile()) files.push({ path: relative, kind: 'config', length: stat.size, source });
  };
  if (existsSync(join(dataDir, CONFIG_FILE))) add(CONFIG_FILE);
  for (const dir of CONFIG_DIRS) {
    if (!existsSync(join(dataDir, dir))) continue;
    for (const name of readdirSync(join(dataDir, dir)).sort()) add(`${dir}/${name}`);
  }
  const taken = new Set(capture.files.map((f) => f.path));
  return { ...capture, files: [...capture.files, ...files.filter((f) => !taken.has(f.path))] };
}
