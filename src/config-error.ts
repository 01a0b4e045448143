/**
 * The operator's configuration is invalid: a config file, a command-line flag, or a combination the
 * broker refuses at start (storage limits). The message names the setting; the CLI exits with its
 * usage code. Here, under every layer, because the broker throws it as well as src/config.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
