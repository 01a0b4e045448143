import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { BackupError, BackupErrorKinds } from '../backup-error.js';
import type { BackupTarget } from '../contracts.js';
import { checkKey, checkPrefix } from './object-key.js';

/**
 * A backup target in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage…), named
 * `s3://bucket/prefix`. Objects are `<prefix>/<key>`. S3 makes a PutObject visible whole or not at
 * all, and durable once it answers 200, which is what the BackupTarget contract asks of `put`.
 *
 * Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE
 * and ~/.aws, web identity, instance roles): Parapet never takes them as flags, so they are not in shell
 * history or process listings, and no message here includes them.
 */

export interface S3TargetOptions {
  /** Another endpoint than AWS's: `http://127.0.0.1:9000` for MinIO. */
  readonly endpoint?: string;
  /** Default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 (what S3-compatible servers accept). */
  readonly region?: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`: most self-hosted servers need it. */
  readonly pathStyle?: boolean;
  /** For tests and embedding; the command line always uses the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface S3Url {
  readonly bucket: string;
  /** Without leading or trailing `/`; may be empty. */
  readonly prefix: string;
}

/** Bucket names per the S3 rules (3–63 lower-case letters, digits, `.`, `-`), so a typo fails here. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Url(url: string): S3Url {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  const bucket = m?.[1];
  if (bucket === undefined || !BUCKET.test(bucket)) {
    throw new BackupError(BackupErrorKinds.BAD_KEY, url, `${JSON.stringify(url)} is not an S3 target: write s3://bucket or s3://bucket/prefix (bucket: 3-63 of a-z 0-9 . -)`);
  }
  const prefix = (m?.[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '') checkPrefix(prefix);
  return { bucket, prefix };
}

export class S3Target implements BackupTarget {
  readonly description: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(url: string, options: S3TargetOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.#bucket = bucket;
    this.#prefix = prefix === '' ? '' : `${prefix}/`;
    this.description = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}${options.endpoint === undefined ? '' : ` at ${options.endpoint}`}`;
    const config: S3ClientConfig = {
      region: options.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
      forcePathStyle: options.pathStyle === true,
      maxAttempts: 3,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    };
    // The SDK warns on every command-line run under Node 20 about SDK releases Parapet does not use
    // (its version is pinned by package-lock.json): noise in `parapet backup` output.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    this.#client = new S3Client(config);
  }

  #key(key: string): string {
    checkKey(key);
    return `${this.#prefix}${key}`;
  }

  async put(key: string, data: Buffer): Promise<void> {
    const Key = this.#key(key);
    await this.#call(key, () => this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key, Body: data })));
  }

  /**
   * Creates the object only if there is none (PutObject with `If-None-Match: *`, RFC 9110 §13.1.2; S3
   * since 2024, MinIO, Ceph). False when one exists. On a server that answers 501 (not implemented),
   * a best effort: HeadObject, then PutObject.
   */
  async putIfAbsent(key: string, data: Buffer): Promise<boolean> {
    const Key = this.#key(key);
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key, Body: data, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      if (statusOf(err) === 412 || nameOf(err) === 'PreconditionFailed') return false;
      if (statusOf(err) !== 501 && nameOf(err) !== 'NotImplemented') throw this.#fault(key, err);
    }
    // A server without conditional writes: check, then write (a race window the caller narrows by reading back).
    if (await this.has(key)) return false;
    await this.put(key, data);
    return true;
  }

  async get(key: string): Promise<Buffer | null> {
    const Key = this.#key(key);
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }));
      if (out.Body === undefined) return Buffer.alloc(0);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      if (isNoSuchKey(err)) return null;
      throw this.#fault(key, err);
    }
  }

  async has(key: string): Promise<boolean> {
    const Key = this.#key(key);
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key }));
      return true;
    } catch (err) {
      if (isNoSuchKey(err)) return false;
      throw this.#fault(key, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#call(prefix, () =>
        this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: `${this.#prefix}${prefix}`, ...(token === undefined ? {} : { ContinuationToken: token }) })),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key?.startsWith(this.#prefix) === true ? object.Key.slice(this.#prefix.length) : null;
        // Objects someone else put under the prefix with names no target key can have are not backup objects.
        if (key !== null && isKey(key)) keys.push(key);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // S3 lists in UTF-8 byte order, which for the key alphabet is the order of sort().
    return keys.sort();
  }

  async remove(key: string): Promise<void> {
    const Key = this.#key(key);
    // DeleteObject of a missing key succeeds in S3: removing twice is not an error, as for a directory.
    await this.#call(key, () => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key })));
  }

  /** Closes the client's sockets. */
  close(): void {
    this.#client.destroy();
  }

  async #call<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.#fault(key, err);
    }
  }

  /** A sentence saying what is wrong with the target; the SDK's own message only when it is an S3 error (which never holds a secret). */
  #fault(key: string, err: unknown): Error {
    if (err instanceof BackupError) return err;
    const name = nameOf(err);
    const status = statusOf(err);
    const where = `${this.description} (${key || 'listing'})`;
    const unavailable = (why: string): BackupError => new BackupError(BackupErrorKinds.TARGET_UNAVAILABLE, this.description, `${where}: ${why}`);
    if (name === 'NoSuchBucket') return unavailable(`bucket ${this.#bucket} does not exist`);
    if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') return unavailable('the credentials are refused (unknown access key or wrong secret); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE');
    if (name === 'AccessDenied' || status === 403) return unavailable('access denied: the credentials may not use this bucket or prefix');
    if (name === 'CredentialsProviderError' || /credential/i.test(name)) return unavailable('no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE');
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'].includes(code)) {
      return unavailable(`the endpoint does not answer (${code})`);
    }
    if (err instanceof S3ServiceException) return unavailable(`S3 answered ${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${err.message}`);
    return unavailable(`request failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isKey(key: string): boolean {
  try {
    checkKey(key);
    return true;
  } catch {
    return false;
  }
}

function nameOf(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function statusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}

function isNoSuchKey(err: unknown): boolean {
  const name = nameOf(err);
  // HeadObject has no body, so a missing key is only a 404 named NotFound.
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(err) === 404 && name !== 'NoSuchBucket');
}
