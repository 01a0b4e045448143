import { promises as fsp } from 'node:fs';

/**
 * The file operations the audit trail uses, so that tests can make any of them fail (ENOSPC, EIO)
 * at a chosen moment. The default is node:fs/promises.
 */
export interface AuditFileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface AuditFs {
  open(path: string, flags: string, mode?: number): Promise<AuditFileHandle>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<{ size: number; mtimeMs: number }>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  chmod(path: string, mode: number): Promise<void>;
}

export const nodeAuditFs: AuditFs = {
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  readdir: (path) => fsp.readdir(path),
  stat: (path) => fsp.stat(path),
  unlink: (path) => fsp.unlink(path),
  rename: (from, to) => fsp.rename(from, to),
  mkdir: (path, options) => fsp.mkdir(path, options),
  chmod: (path, mode) => fsp.chmod(path, mode),
};

/** Flushes a directory's entries (a new, renamed or deleted file in it). */
export async function syncDirectory(fs: AuditFs, dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
