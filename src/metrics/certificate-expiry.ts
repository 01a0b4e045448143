import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/**
 * When the first certificate of a PEM file expires (seconds since the epoch), read again only when
 * the file changes (its mtime or size): a scrape every few seconds must not parse certificates, and a
 * renewed certificate (the listener reloads it live) is seen at the next scrape.
 */
export class CertificateExpiry {
  readonly #cache = new Map<string, { mtimeMs: number; size: number; notAfter: number | undefined }>();

  /** Seconds since the epoch; undefined when the file cannot be read or holds no certificate. */
  notAfter(file: string): number | undefined {
    let stat;
    try {
      stat = statSync(file);
    } catch {
      this.#cache.delete(file);
      return undefined;
    }
    const cached = this.#cache.get(file);
    if (cached !== undefined && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.notAfter;
    let notAfter: number | undefined;
    try {
      // validTo is OpenSSL's text ("Dec  7 07:23:36 2027 GMT"), which Date.parse reads.
      const ms = Date.parse(new X509Certificate(readFileSync(file)).validTo);
      notAfter = Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
    } catch {
      notAfter = undefined;
    }
    this.#cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, notAfter });
    return notAfter;
  }
}
