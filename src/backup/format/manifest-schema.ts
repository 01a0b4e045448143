import { z } from 'zod';
import { BACKUP_ID, CHUNK_ID } from './chunk-seal.js';

/**
 * The manifest of one backup (formatVersion 1), written last to `backups/<id>/manifest.json`: what was
 * captured, every chunk of every file with its SHA-256, and the wrapped data keys of every backup whose
 * chunks it uses, so that each manifest stands alone. Signed (Ed25519) over its canonical JSON minus
 * `signature`. The schema is strict: an unknown field is an error, not something to ignore.
 */
export const MANIFEST_FORMAT_VERSION = 1;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const decimal = z.string().regex(/^-?\d{1,19}$/);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const isoTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
/** A relative path of `/`-separated names, none `.` or `..`: restore writes it under the data directory. */
const relativePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith('/') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\0')), 'a relative path without . or ..');

export const WrappedDekSchema = z.strictObject({
  recipient: hex64,
  ephemeralPublicKey: base64,
  nonce: base64,
  wrapped: base64,
  tag: base64,
});

export const ChunkRefSchema = z.strictObject({
  id: z.string().regex(CHUNK_ID),
  offset: count,
  length: count,
  sealedSha256: hex64,
  dekOf: z.string().regex(BACKUP_ID),
});

export const FileEntrySchema = z.strictObject({
  path: relativePath,
  kind: z.enum(['metadata', 'producer-ids', 'partition-meta', 'data-keys', 'segment', 'snapshot', 'config']),
  length: count,
  sha256: hex64,
  chunks: z.array(ChunkRefSchema),
});

export const PartitionEntrySchema = z.strictObject({
  topic: z.string().min(1).max(249),
  partition: z.number().int().min(0),
  topicId: z.string().min(1),
  logStartOffset: decimal,
  endOffset: decimal,
});

export const UnsignedManifestSchema = z.strictObject({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  id: z.string().regex(BACKUP_ID),
  createdAt: isoTime,
  completedAt: isoTime,
  productVersion: z.string(),
  source: z.strictObject({ dataDir: z.string(), host: z.string() }),
  partitions: z.array(PartitionEntrySchema),
  deks: z.record(z.string().regex(BACKUP_ID), z.array(WrappedDekSchema).min(1)),
  files: z.array(FileEntrySchema),
  totals: z.strictObject({ bytes: count, newBytes: count, chunks: count, newChunks: count }),
});

export const ManifestSchema = UnsignedManifestSchema.extend({
  signature: z.strictObject({ algorithm: z.literal('ed25519'), signer: hex64, value: base64 }),
});

export type UnsignedManifest = z.infer<typeof UnsignedManifestSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
export type FileEntry = z.infer<typeof FileEntrySchema>;
export type ChunkRef = z.infer<typeof ChunkRefSchema>;
export type PartitionEntry = z.infer<typeof PartitionEntrySchema>;
