import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A STAND-IN for an S3-compatible server, for tests only: in memory, path-style, one region, the five
 * operations the backup target uses (PutObject with If-None-Match: *, GetObject, HeadObject,
 * DeleteObject, ListObjectsV2 with prefix, max-keys and continuation). It checks AWS Signature V4 on
 * every request (the access key must be known and the signature right), so wrong credentials are
 * refused as S3 refuses them. It is not S3: no multipart, no versioning, no ACLs. No maintained npm
 * package runs an S3 server without a binary (s3rver's last release is from 2021), hence this one.
 */

export interface S3StandIn {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Bucket → key → bytes: tests read and tamper with objects here. */
  readonly buckets: Map<string, Map<string, Buffer>>;
  /** Requests seen, as `METHOD path?query`. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface S3StandInOptions {
  readonly buckets?: readonly string[];
  /** Page size cap of ListObjectsV2 (S3's is 1000): small, to exercise continuation. */
  readonly maxKeys?: number;
}

export async function startS3StandIn(options: S3StandInOptions = {}): Promise<S3StandIn> {
  const accessKeyId = 'STANDINACCESSKEY';
  const secretAccessKey = 'stand-in-secret-key-not-a-real-one';
  const buckets = new Map<string, Map<string, Buffer>>((options.buckets ?? ['backups']).map((b) => [b, new Map()]));
  const requests: string[] = [];
  const maxKeysCap = options.maxKeys ?? 1000;

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(parts));
      } catch (err) {
        fail(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
      }
    });
  });

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    requests.push(`${method} ${url.pathname}${url.search}`);
    const auth = checkSignature(req, url, body, accessKeyId, secretAccessKey);
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    const key = rest.map((s) => decodeURIComponent(s)).join('/');
    const bucket = buckets.get(decodeURIComponent(bucketName));
    const object = bucket?.get(key);
    const etag = (bytes: Buffer): string => `"${createHash('md5').update(bytes).digest('hex')}"`;
    if (auth !== null) {
      fail(res, 403, auth, 'signature check failed');
    } else if (bucket === undefined) {
      fail(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    } else if (key === '') {
      if (method === 'GET' && url.searchParams.get('list-type') === '2') list(res, bucket, url.searchParams);
      else fail(res, 400, 'InvalidRequest', 'unsupported bucket operation');
    } else if (method === 'PUT') {
      if (req.headers['if-none-match'] === '*' && object !== undefined) {
        fail(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      } else {
        bucket.set(key, body);
        res.writeHead(200, { etag: etag(body) }).end();
      }
    } else if (method === 'DELETE') {
      bucket.delete(key);
      res.writeHead(204).end();
    } else if (method !== 'GET' && method !== 'HEAD') {
      fail(res, 405, 'MethodNotAllowed', 'method not allowed');
    } else if (object === undefined) {
      // A HEAD answer has no body: S3 sends a bare 404.
      if (method === 'HEAD') res.writeHead(404).end();
      else fail(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    } else {
      res.writeHead(200, { 'content-length': String(object.length), 'content-type': 'application/octet-stream', etag: etag(object) });
      res.end(method === 'GET' ? object : undefined);
    }
  }

  function list(res: ServerResponse, bucket: Map<string, Buffer>, params: URLSearchParams): void {
    const prefix = params.get('prefix') ?? '';
    const maxKeys = Math.min(Number(params.get('max-keys') ?? maxKeysCap), maxKeysCap);
    const after = params.get('continuation-token') ?? params.get('start-after') ?? '';
    const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const last = page.at(-1);
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Prefix>${esc(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
      (truncated && last !== undefined ? `<NextContinuationToken>${esc(last)}</NextContinuationToken>` : '') +
      page.map((k) => `<Contents><Key>${esc(k)}</Key><Size>${bucket.get(k)?.length ?? 0}</Size></Contents>`).join('') +
      '</ListBucketResult>';
    res.writeHead(200, { 'content-type': 'application/xml' }).end(xml);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId,
    secretAccessKey,
    buckets,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${esc(message)}</Message></Error>`);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** RFC 3986 unreserved characters stay, everything else is %XX (what SigV4's canonical query asks). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * AWS Signature V4 (docs.aws.amazon.com, "Signature Version 4 signing process"): rebuilds the canonical
 * request from what arrived and compares signatures. Null when it is right, else S3's error code.
 */
function checkSignature(req: IncomingMessage, url: URL, body: Buffer, accessKeyId: string, secret: string): string | null {
  const header = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header);
  if (m === null) return 'AccessDenied';
  const [, key = '', date = '', region = '', signedHeaders = '', signature = ''] = m;
  if (key !== accessKeyId) return 'InvalidAccessKeyId';
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && !payloadHash.startsWith('STREAMING-') && payloadHash !== createHash('sha256').update(body).digest('hex')) return 'XAmzContentSHA256Mismatch';
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders.split(';');
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [req.method, url.pathname, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(toSign).digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? null : 'SignatureDoesNotMatch';
}
