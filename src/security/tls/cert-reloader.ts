/**
 * Swaps a listener's certificate when its files change (cert-manager, ACME clients and `mv` rotations)
 * without a restart: connections already open keep the context they were made with, new ones get the
 * new certificate. A pair that isn't usable yet (the certificate rewritten before its key, a file cut
 * short) leaves the current certificate in place and is tried again. The CRL file (`tls.crlFile`) is
 * watched the same way: a new list applies to the next handshake, and `onCrlChanged` lets the
 * listener close connections whose certificate it now revokes.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import type tls from 'node:tls';
import type { Logger } from '../../logger.js';
import { summariseCrls, type CrlSummary } from './crl-bundle.js';
import { buildTlsServerOptions, type ClientAuth, type TlsFiles } from './tls-options.js';

/** What the reloader needs of a server: `tls.Server` has it. */
export interface SecureContextTarget {
  setSecureContext(options: tls.SecureContextOptions): void;
}

export interface CertificateReloaderOptions {
  readonly files: TlsFiles;
  readonly clientAuth: ClientAuth;
  /** Already serving a context built from `files`. */
  readonly server: SecureContextTarget;
  readonly logger: Logger;
  /** How often the files' metadata is polled. */
  readonly pollIntervalMs?: number;
  /**
   * How long after a change is noticed the files are read, so that a certificate and key replaced one
   * after the other are loaded together rather than failing once in between.
   */
  readonly settleMs?: number;
  /** Milliseconds since the epoch; a certificate (or CRL) already expired by it is refused. */
  readonly now?: () => number;
  /** Called with the new CRLs (PEM) once a changed CRL file is in use. */
  readonly onCrlChanged?: (crlPem: string) => void;
  /** Each reload that changed something, and each new reason a reload failed (the audit trail records them). */
  readonly onReloaded?: (outcome: { ok: boolean; detail: string }) => void;
}

const DEFAULT_POLL_INTERVAL_MS = 2000;
const DEFAULT_SETTLE_MS = 100;

export class CertificateReloader {
  readonly #files: TlsFiles;
  readonly #clientAuth: ClientAuth;
  readonly #server: SecureContextTarget;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  readonly #settleMs: number;
  readonly #onReloaded: ((outcome: { ok: boolean; detail: string }) => void) | undefined;
  readonly #watched: readonly string[];
  readonly #now: () => number;
  readonly #onCrlChanged: ((crlPem: string) => void) | undefined;
  /**
   * Digests of what the server is using, to skip a reload that would change nothing (a `touch`): the
   * certificate, key and CA apart from the CRLs, to tell a rotation from a revocation.
   */
  #loaded: LoadedDigests | undefined;
  #lastFailure: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  // fs.watchFile polls stat() by path, so it notices a file replaced by rename (the atomic way editors
  // and cert-manager write), which fs.watch, bound to the old inode, misses.
  readonly #onChange = (): void => {
    this.#schedule(this.#settleMs);
  };

  constructor(options: CertificateReloaderOptions) {
    this.#files = options.files;
    this.#clientAuth = options.clientAuth;
    this.#server = options.server;
    this.#logger = options.logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
    this.#onReloaded = options.onReloaded;
    this.#now = options.now ?? Date.now;
    this.#onCrlChanged = options.onCrlChanged;
    if (!Number.isInteger(this.#pollIntervalMs) || this.#pollIntervalMs < 1) throw new Error('pollIntervalMs must be a positive integer');
    const { certFile, keyFile, caFile, crlFile } = options.files;
    this.#watched = [certFile, keyFile, ...(caFile === undefined ? [] : [caFile]), ...(crlFile === undefined ? [] : [crlFile])];
    this.#loaded = this.#currentDigests();
    for (const file of this.#watched) {
      // Not persistent: watching certificates must not keep a closing broker alive.
      watchFile(file, { interval: this.#pollIntervalMs, persistent: false }, this.#onChange);
    }
  }

  /**
   * Reads the files now and, when they form a usable context that differs from the current one,
   * installs it. True when the server uses the files' current contents (newly installed or unchanged);
   * false when they were refused and the previous certificate stays. For tests and SIGHUP.
   */
  reload(): boolean {
    let options: tls.TlsOptions;
    try {
      options = buildTlsServerOptions(this.#files, this.#clientAuth, this.#now());
      refuseExpired(options, this.#files.certFile, this.#now());
    } catch (err) {
      // Our own messages: file names and error codes, never file contents.
      this.#failed(err instanceof Error ? err.message : 'unreadable TLS files');
      return false;
    }
    const digests = digestsOf(options);
    const certificateChanged = digests.certificate !== this.#loaded?.certificate;
    const crlChanged = digests.crl !== this.#loaded?.crl;
    if (!certificateChanged && !crlChanged) {
      this.#recovered();
      return true;
    }
    try {
      this.#server.setSecureContext(options);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      this.#failed(`the server refused the new TLS context: ${code}`);
      return false;
    }
    this.#loaded = digests;
    this.#recovered();
    if (certificateChanged) {
      const described = describeCertificate(options);
      this.#logger.info({ event: 'tls-certificate-reloaded', certFile: this.#files.certFile, ...described }, 'TLS certificate reloaded');
      this.#onReloaded?.({ ok: true, detail: `${this.#files.certFile}: ${JSON.stringify(described)}` });
    }
    if (crlChanged && typeof options.crl === 'string') {
      const crls = summariseCrlsQuietly(options.crl);
      this.#logger.info({ event: 'tls-crl-reloaded', crlFile: this.#files.crlFile, crls }, 'TLS certificate revocation list reloaded');
      this.#onReloaded?.({ ok: true, detail: `revocation list ${this.#files.crlFile ?? ''} reloaded` });
      this.#onCrlChanged?.(options.crl);
    }
    return true;
  }

  /** Stops watching the files; the server keeps its current certificate. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const file of this.#watched) unwatchFile(file, this.#onChange);
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      // A refused pair is retried every poll interval as well as on the next change: a fix that only
      // changed permissions, or a write racing our read, must not need another edit to be picked up.
      if (!this.reload()) this.#schedule(this.#pollIntervalMs);
    }, delayMs);
    this.#timer.unref();
  }

  #failed(reason: string): void {
    const { certFile, keyFile, caFile, crlFile } = this.#files;
    const fields = { event: 'tls-certificate-reload-failed', certFile, keyFile, caFile, crlFile, reason };
    const message = 'TLS certificate reload failed; keeping the current certificate';
    // The same failure on every retry is logged once, then quietly.
    if (reason === this.#lastFailure) this.#logger.debug(fields, message);
    else {
      this.#logger.error(fields, message);
      this.#onReloaded?.({ ok: false, detail: reason });
    }
    this.#lastFailure = reason;
  }

  #recovered(): void {
    this.#lastFailure = undefined;
  }

  #currentDigests(): LoadedDigests | undefined {
    try {
      return digestsOf(buildTlsServerOptions(this.#files, this.#clientAuth, this.#now()));
    } catch {
      return undefined;
    }
  }
}

interface LoadedDigests {
  readonly certificate: string;
  readonly crl: string;
}

function digestsOf(options: tls.TlsOptions): LoadedDigests {
  // Held in memory only; it covers the key so a key-only rotation is noticed.
  const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');
  return { certificate: digest([options.cert, options.key, options.ca ?? null]), crl: digest(options.crl ?? null) };
}

function summariseCrlsQuietly(pem: string): readonly CrlSummary[] {
  try {
    return summariseCrls(pem);
  } catch {
    // Checked when loaded; a summary is for the log only.
    return [];
  }
}

function leafOf(options: tls.TlsOptions): X509Certificate | undefined {
  return typeof options.cert === 'string' ? new X509Certificate(options.cert) : undefined;
}

function refuseExpired(options: tls.TlsOptions, certFile: string, now: number): void {
  const leaf = leafOf(options);
  // Serving an expired certificate fails every handshake; the current one may still have days left.
  if (leaf !== undefined && Date.parse(leaf.validTo) < now) {
    throw new Error(`the TLS certificate in ${certFile} expired on ${leaf.validTo}`);
  }
}

function describeCertificate(options: tls.TlsOptions): object {
  const leaf = leafOf(options);
  if (leaf === undefined) return {};
  return { subject: leaf.subject, serialNumber: leaf.serialNumber, fingerprint256: leaf.fingerprint256, validTo: leaf.validTo };
}
