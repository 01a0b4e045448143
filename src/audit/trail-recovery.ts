import { join } from 'node:path';
import { auditFileNames, firstSeqOfName, readFileTail } from './audit-files.js';
import type { AuditFs } from './audit-fs.js';
import { GENESIS_PREV, isCheckpoint, lineHash, parseAuditLine } from './chain.js';
import type { TailRepair } from './trail-events.js';

/**
 * Where a trail left off: the seq and prev of the next line, and the file to go on writing in. A
 * crash in the middle of a write leaves an incomplete line (never acknowledged: flush() had not
 * resolved). It is not hidden nor cut away: the trail goes on in a new file, chained to the last
 * complete line, whose first event records the incomplete line's place (`audit verify` accepts it
 * then, and only then).
 */

export interface TrailEnd {
  readonly nextSeq: number;
  readonly prev: string;
  /** The newest file, to be continued (absent: start a new file). */
  readonly active?: { readonly name: string; readonly size: number };
  readonly repair?: TailRepair;
  /** The last complete line is a checkpoint: nothing before it waits for a signature. */
  readonly signed: boolean;
}

/** The trail cannot be continued without someone looking at it first. */
export class AuditTrailError extends Error {
  override name = 'AuditTrailError';
}

export async function recoverTrailEnd(fs: AuditFs, dir: string): Promise<TrailEnd> {
  const names = auditFileNames(await fs.readdir(dir));
  let repair: TailRepair | undefined;
  let emptyNewest: string | undefined;
  for (let i = names.length - 1; i >= 0; i--) {
    const name = names[i] ?? '';
    const path = join(dir, name);
    const tail = await readFileTail(fs, path);
    const newest = i === names.length - 1;
    if (tail.size === 0 && newest) {
      // A crash just after a rotation created it: it holds nothing.
      emptyNewest = name;
      continue;
    }
    if (tail.completeBytes < tail.size && repair === undefined) {
      if (tail.lastLine === undefined) {
        // Not one complete line: the next file would take its name. It is kept aside, for inspection.
        await fs.rename(path, `${path}.partial`);
        repair = { file: `${name}.partial`, offset: 0, bytes: tail.size };
        continue;
      }
      repair = { file: name, offset: tail.completeBytes, bytes: tail.size - tail.completeBytes };
    }
    if (tail.lastLine === undefined) throw new AuditTrailError(`the audit file ${path} holds no complete line: run \`parapet audit verify\`, and move it aside to go on`);
    const text = tail.lastLine.bytes.toString('utf8');
    const line = parseAuditLine(text);
    if (typeof line === 'string') {
      throw new AuditTrailError(
        `cannot continue the audit trail: the last complete line of ${path} is not an audit line (${line}); was it edited? ` +
          'Run `parapet audit verify`, and move the file aside to start a new trail',
      );
    }
    const end = { nextSeq: line.seq + 1, prev: lineHash(tail.lastLine.bytes), signed: isCheckpoint(line) };
    if (emptyNewest !== undefined) {
      if (repair === undefined && firstSeqOfName(emptyNewest) === end.nextSeq) return { ...end, active: { name: emptyNewest, size: 0 } };
      await fs.unlink(join(dir, emptyNewest));
    }
    if (repair !== undefined) return { ...end, repair };
    return { ...end, active: { name, size: tail.size } };
  }
  if (emptyNewest !== undefined) {
    if (firstSeqOfName(emptyNewest) === 1 && repair === undefined) return { nextSeq: 1, prev: GENESIS_PREV, signed: true, active: { name: emptyNewest, size: 0 } };
    await fs.unlink(join(dir, emptyNewest));
  }
  return { nextSeq: 1, prev: GENESIS_PREV, signed: true, ...(repair === undefined ? {} : { repair }) };
}
