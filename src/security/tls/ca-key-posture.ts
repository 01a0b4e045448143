import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the posture check sees in the data directory itself: a CA private key left there by a Parapet
 * older than the CA directory (`parapet init` now writes the key outside the data directory, see
 * src/setup/init.ts). The running broker never uses it, and anyone who can read it can issue
 * client certificates for any name, the super user's included: warned about at every start.
 */
export function dataDirWarnings(dataDir: string): { readonly setting: string; readonly detail: string }[] {
  const caKey = join(dataDir, 'tls', 'ca.key');
  if (!existsSync(caKey)) return [];
  return [
    {
      setting: 'caKeyInDataDir',
      detail:
        `the CA private key ${caKey} is in the data directory: whoever reads it can issue certificates this broker trusts; ` +
        `the broker never needs it: move it out (mkdir -m 700 ${dataDir}-ca && mv ${caKey} ${dataDir}-ca/ && cp ${join(dataDir, 'tls', 'ca.crt')} ${dataDir}-ca/), ` +
        'then keep that directory offline or with another account (docs/security/tls.md)',
    },
  ];
}
