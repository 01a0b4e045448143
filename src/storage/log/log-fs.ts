import * as fs from 'node:fs';

/**
 * The file operations the log uses, injected so that tests can fake a full disk (ENOSPC) or a failing
 * fsync without root or a tiny filesystem. Writes and reads are synchronous positional calls: appends
 * land in the page cache in microseconds and keep offset assignment and visibility in one step. Only
 * fsync, the slow part, is asynchronous (it runs on libuv's thread pool and is group-committed).
 */
export interface LogFs {
  openSync(path: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  ftruncateSync(fd: number, length: number): void;
  fstatSync(fd: number): { size: number; mtimeMs: number };
  fdatasync(fd: number): Promise<void>;
  fsyncSync(fd: number): void;
  readdirSync(path: string): string[];
  mkdirSync(path: string): void;
  existsSync(path: string): boolean;
  readFileSync(path: string): Buffer;
  /** Writes a whole small file (index, metadata) durably: write to a temp name, fsync, rename. */
  writeFileDurably(path: string, data: Buffer): void;
  unlinkSync(path: string): void;
  rmSync(path: string): void;
  renameSync(from: string, to: string): void;
  /** fsync of a directory, so that a created, renamed or deleted entry survives a power loss. */
  fsyncDir(path: string): void;
}

export const nodeLogFs: LogFs = {
  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  closeSync: (fd) => {
    fs.closeSync(fd);
  },
  writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  ftruncateSync: (fd, length) => {
    fs.ftruncateSync(fd, length);
  },
  fstatSync: (fd) => fs.fstatSync(fd),
  fdatasync: (fd) =>
    new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => {
        if (err) reject(err);
        else resolve();
      });
    }),
  fsyncSync: (fd) => {
    fs.fsyncSync(fd);
  },
  readdirSync: (path) => fs.readdirSync(path),
  mkdirSync: (path) => {
    fs.mkdirSync(path, { recursive: true, mode: 0o700 });
  },
  existsSync: (path) => fs.existsSync(path),
  readFileSync: (path) => fs.readFileSync(path),
  writeFileDurably: (path, data) => {
    const tmp = `${path}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  },
  unlinkSync: (path) => {
    fs.unlinkSync(path);
  },
  rmSync: (path) => {
    fs.rmSync(path, { recursive: true, force: true });
  },
  renameSync: (from, to) => {
    fs.renameSync(from, to);
  },
  fsyncDir: (path) => {
    const fd = fs.openSync(path, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};
