import { ConfigError } from '../../config-error.js';
import { ClientError } from '../../client/errors.js';
import { isSecretRef, parseSecretRef, readSecret, type SecretRef } from '../../secret-ref.js';
import { UsageError } from './common.js';

/**
 * A secret given to a command by reference: `--password '${env:NAME}'` or `--bearer-token
 * '${file:PATH}'` (owner-only, as in the config file). The secret itself is refused on the command
 * line, where every account sees it (`ps`, /proc/PID/cmdline) and the shell's history keeps it.
 * The file's final newline is not part of the secret.
 */
export function secretFromFlag(flag: string, reference: string): string {
  if (!isSecretRef(reference)) {
    throw new UsageError(
      `${flag} takes a reference, '\${env:NAME}' or '\${file:PATH}' (in single quotes, so that the shell leaves it alone), never the secret itself: a command line is visible to every account`,
    );
  }
  return secretOf(parseSecretRef(reference, flag), flag, reference);
}

/** A secret in a file a flag names (`--bearer-token-file FILE`): owner-only, as a `${file:…}` reference. */
export function secretFromFile(flag: string, path: string): string {
  return secretOf({ kind: 'file', path }, flag, path);
}

function secretOf(ref: SecretRef, flag: string, shown: string): string {
  let text: string;
  try {
    text = readSecret(ref, flag).toString('utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof ConfigError) throw new ClientError(err.message);
    throw err;
  }
  if (text.trim() === '') throw new UsageError(`${flag}: ${shown} is empty`);
  return text;
}
