import { nodeAuditFs, type AuditFileHandle, type AuditFs } from '../../src/audit/audit-fs.js';

/**
 * A real file system whose writes and fsyncs fail when a test says so, as a full disk (ENOSPC) or a
 * failing one (EIO) does: `partialWrite` writes half of the next write and then fails the rest.
 */
export class FaultyFs implements AuditFs {
  /** The error the next writes throw, until cleared. */
  writeError: string | undefined;
  syncError: string | undefined;
  /** The next write writes half its bytes (really), then writeError applies. */
  partialWrite = false;
  writes = 0;
  syncs = 0;

  private fault(code: string): NodeJS.ErrnoException {
    return Object.assign(new Error(`${code}: injected`), { code });
  }

  async open(path: string, flags: string, mode?: number): Promise<AuditFileHandle> {
    const real = await nodeAuditFs.open(path, flags, mode);
    return {
      write: async (buffer, offset, length, position) => {
        this.writes += 1;
        if (this.partialWrite) {
          this.partialWrite = false;
          const half = Math.max(1, Math.floor(length / 2));
          return real.write(buffer, offset, half, position);
        }
        if (this.writeError !== undefined) throw this.fault(this.writeError);
        return real.write(buffer, offset, length, position);
      },
      read: (buffer, offset, length, position) => real.read(buffer, offset, length, position),
      sync: async () => {
        this.syncs += 1;
        if (this.syncError !== undefined) throw this.fault(this.syncError);
        await real.sync();
      },
      truncate: (length) => real.truncate(length),
      stat: () => real.stat(),
      close: () => real.close(),
    };
  }

  readdir = (path: string) => nodeAuditFs.readdir(path);
  stat = (path: string) => nodeAuditFs.stat(path);
  unlink = (path: string) => nodeAuditFs.unlink(path);
  rename = (from: string, to: string) => nodeAuditFs.rename(from, to);
  mkdir = (path: string, options: { recursive: true; mode: number }) => nodeAuditFs.mkdir(path, options);
  chmod = (path: string, mode: number) => nodeAuditFs.chmod(path, mode);
}
