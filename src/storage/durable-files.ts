import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/**
 * Small files that must survive a crash once written (the files `parapet init` creates): the data is
 * flushed before the file is renamed into place, and the directory after, so that a power cut leaves
 * either the old name or the complete new file (ext4 and XFS do not promise that without the fsyncs).
 */

/** Creates `path` (it must not exist) with `mode` from the start, writes `text` and flushes it. */
export function writeFileDurably(path: string, text: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a directory's entries (a rename or a new file in it). */
export function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
