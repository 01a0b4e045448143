import type { KeyObject } from 'node:crypto';
import { basename } from 'node:path';
import { firstSeqOfName, rawLines, type AuditHead } from './audit-files.js';
import { checkpointSignatureValid, GENESIS_PREV, isCheckpoint, lineHash, parseAuditLine, type CheckpointBody } from './chain.js';
import { keyId, publicKeyOf } from './signing-key.js';
import { TAIL_REPAIRED, type TailRepair } from './trail-events.js';

/**
 * `parapet audit verify` (docs/security/audit.md, "Verifying the trail"): walks the hash chain of a
 * set of audit files and checks every checkpoint's signature, and the signed head against the end.
 * Each break is located (file, line, seq) and told apart as well as the chain allows: a modified
 * line, a deleted one, an inserted one, lines out of order, a cut tail, a bad signature.
 *
 * Memory: the seq and hashes of one file's lines at a time (a file is at most maxFileBytes).
 */

export type AuditProblemKind =
  | 'modified'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'invalid-line'
  | 'partial-line'
  | 'truncated'
  | 'bad-signature'
  | 'wrong-key'
  | 'head'
  | 'unreadable';

export interface AuditProblem {
  readonly kind: AuditProblemKind;
  readonly file: string;
  /** 1-based line number in the file. */
  readonly line?: number;
  readonly seq?: number;
  readonly message: string;
}

export interface AuditVerifyReport {
  readonly ok: boolean;
  /** The key id of the public key verified against. */
  readonly keyId: string;
  readonly files: readonly string[];
  readonly lines: number;
  readonly events: number;
  readonly checkpoints: number;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  readonly lastCheckpoint?: { readonly file: string; readonly line: number; readonly seq: number };
  /** Events after the last checkpoint: chained, but not signed yet. */
  readonly unsignedEvents: number;
  /** Information that is not a failure (the trail starts after seq 1, a repaired tail…). */
  readonly notes: readonly string[];
  readonly problems: readonly AuditProblem[];
  /** Problems found beyond maxProblems, not listed. */
  readonly moreProblems: number;
}

export interface VerifyOptions {
  /** The signed head (head.json): without it, a tail cut after the last checkpoint it names cannot be told. */
  readonly head?: AuditHead;
  /**
   * The files are a whole audit directory, whose head.json must then exist once anything was signed
   * (its absence is a problem: deleting it would hide a cut tail).
   */
  readonly requireHead?: boolean;
  /** Problems listed at most (default 1000); the rest are counted. */
  readonly maxProblems?: number;
}

interface Entry {
  readonly lineNo: number;
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
  readonly checkpoint?: CheckpointBody;
  readonly repair?: TailRepair;
  readonly bad?: string;
}

/** The last line of the previous file, which the next file chains from. */
interface Carried {
  readonly file: string;
  readonly lineNo: number;
  readonly seq: number;
  readonly hash: string;
  /** The incomplete line it ended with, which the next file's first event must record. */
  readonly partial?: TailRepair;
}

/** Orders a set of files by the seq their names start at (names that are not audit files keep their place). */
export function orderAuditFiles(files: readonly string[]): string[] {
  const unique = [...new Set(files)];
  if (unique.some((f) => firstSeqOfName(f) === undefined)) return unique;
  return unique.sort((a, b) => (firstSeqOfName(a) ?? 0) - (firstSeqOfName(b) ?? 0));
}

export async function verifyAuditFiles(files: readonly string[], publicKey: KeyObject, options: VerifyOptions = {}): Promise<AuditVerifyReport> {
  return new Verification(publicKeyOf(publicKey), options).run(orderAuditFiles(files));
}

class Verification {
  readonly #keyId: string;
  readonly #maxProblems: number;
  readonly #problems: AuditProblem[] = [];
  #moreProblems = 0;
  readonly #notes: string[] = [];
  #lines = 0;
  #events = 0;
  #checkpoints = 0;
  #unsignedEvents = 0;
  #firstSeq: number | undefined;
  #last: Carried | undefined;
  #lastCheckpoint: { file: string; line: number; seq: number } | undefined;
  /** The line at the head's seq, when the files reach it. */
  #atHead: { file: string; line: number; entry: Entry } | undefined;

  constructor(
    private readonly publicKey: KeyObject,
    private readonly options: VerifyOptions,
  ) {
    this.#keyId = keyId(publicKey);
    this.#maxProblems = options.maxProblems ?? 1000;
  }

  async run(files: readonly string[]): Promise<AuditVerifyReport> {
    let vanished = 0;
    for (const [i, file] of files.entries()) {
      try {
        await this.#file(file, i === files.length - 1);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A running broker's retention deletes the oldest files: one listed and gone before anything
        // was read is that, and the trail starts after it. Gone after a file was read, it is a hole.
        if (code === 'ENOENT' && this.#lines === 0 && this.#problems.length === 0) {
          vanished += 1;
          continue;
        }
        this.#problem({ kind: 'unreadable', file, message: `${basename(file)} cannot be read (${code ?? String(err)})` });
      }
    }
    if (vanished > 0) this.#notes.push(`${vanished} of the oldest files listed were removed (by retention) before they were read`);
    this.#checkHead(files);
    if (this.#unsignedEvents > 0) this.#notes.push(`${this.#unsignedEvents} event(s) after the last checkpoint are not signed yet (the next checkpoint signs them)`);
    if (this.#lines > 0 && this.#checkpoints === 0) this.#notes.push('no checkpoint: nothing in these files is signed yet');
    return {
      ok: this.#problems.length === 0 && this.#moreProblems === 0,
      keyId: this.#keyId,
      files,
      lines: this.#lines,
      events: this.#events,
      checkpoints: this.#checkpoints,
      ...(this.#firstSeq === undefined ? {} : { firstSeq: this.#firstSeq }),
      ...(this.#last === undefined ? {} : { lastSeq: this.#last.seq }),
      ...(this.#lastCheckpoint === undefined ? {} : { lastCheckpoint: this.#lastCheckpoint }),
      unsignedEvents: this.#unsignedEvents,
      notes: this.#notes,
      problems: this.#problems,
      moreProblems: this.#moreProblems,
    };
  }

  #problem(p: AuditProblem): void {
    if (this.#problems.length < this.#maxProblems) this.#problems.push(p);
    else this.#moreProblems += 1;
  }

  async #file(file: string, newest: boolean): Promise<void> {
    const entries: Entry[] = [];
    let partial: TailRepair | undefined;
    let partialLine = 0;
    for await (const raw of rawLines(file)) {
      if (!raw.complete) {
        partial = { file: basename(file), offset: raw.offset, bytes: raw.bytes.length };
        partialLine = raw.lineNo;
        break;
      }
      const entry = this.#entry(raw.bytes, raw.lineNo, raw.overlong);
      entries.push(entry);
      if (entry.bad === undefined) this.#counted(file, entry);
    }
    this.#chain(file, entries);
    const lastEntry = entries.at(-1);
    if (partial !== undefined) {
      if (newest) {
        this.#problem({
          kind: 'partial-line',
          file,
          line: partialLine,
          message: `line ${partialLine} of ${basename(file)} is incomplete (${partial.bytes} bytes at offset ${partial.offset}, no newline): the file was cut in the middle of a line`,
        });
      }
    }
    if (lastEntry !== undefined && lastEntry.bad === undefined) {
      this.#last = { file, lineNo: lastEntry.lineNo, seq: lastEntry.seq, hash: lastEntry.hash, ...(partial === undefined ? {} : { partial }) };
    } else if (lastEntry === undefined && partial !== undefined && this.#last !== undefined) {
      this.#last = { ...this.#last, partial };
    }
  }

  #entry(bytes: Buffer, lineNo: number, overlong: boolean): Entry {
    const hash = lineHash(bytes);
    if (overlong) return { lineNo, seq: 0, prev: '', hash, bad: 'longer than any line the trail writes' };
    const line = parseAuditLine(bytes.toString('utf8'));
    if (typeof line === 'string') return { lineNo, seq: 0, prev: '', hash, bad: line };
    if (isCheckpoint(line)) return { lineNo, seq: line.seq, prev: line.prev, hash, checkpoint: line.checkpoint };
    const u = line.event.unmapped as Record<string, unknown> | undefined;
    if (u?.parapet_type === TAIL_REPAIRED && typeof u.file === 'string' && typeof u.offset === 'number' && typeof u.bytes === 'number') {
      return { lineNo, seq: line.seq, prev: line.prev, hash, repair: { file: u.file, offset: u.offset, bytes: u.bytes } };
    }
    return { lineNo, seq: line.seq, prev: line.prev, hash };
  }

  /** Counts a valid line, checks a checkpoint's signature, keeps the line at the head's seq. */
  #counted(file: string, e: Entry): void {
    this.#lines += 1;
    this.#firstSeq ??= e.seq;
    const head = this.options.head;
    if (head !== undefined && e.seq === head.seq) this.#atHead = { file, line: e.lineNo, entry: e };
    if (e.checkpoint === undefined) {
      this.#events += 1;
      this.#unsignedEvents += 1;
      return;
    }
    this.#checkpoints += 1;
    this.#unsignedEvents = 0;
    this.#lastCheckpoint = { file, line: e.lineNo, seq: e.seq };
    if (e.checkpoint.key !== this.#keyId) {
      this.#problem({
        kind: 'wrong-key',
        file,
        line: e.lineNo,
        seq: e.seq,
        message: `the checkpoint at line ${e.lineNo} (seq ${e.seq}) was signed by key ${e.checkpoint.key}, not by the key given (${this.#keyId})`,
      });
    } else if (!checkpointSignatureValid(this.publicKey, e.seq, e.prev, e.checkpoint.signature)) {
      this.#problem({ kind: 'bad-signature', file, line: e.lineNo, seq: e.seq, message: `the checkpoint at line ${e.lineNo} (seq ${e.seq}) has a bad signature` });
    }
  }

  /** Walks one file's chain, from the last line of the file before it. */
  #chain(file: string, entries: readonly Entry[]): void {
    const byHash = new Map<string, number>();
    const prevs = new Set<string>();
    const seqs = new Set<number>();
    for (const [i, e] of entries.entries()) {
      if (e.bad !== undefined) continue;
      if (!byHash.has(e.hash)) byHash.set(e.hash, i);
      prevs.add(e.prev);
      seqs.add(e.seq);
    }
    const carried = this.#last;
    const reported = new Set<number>();
    const first = entries[0];
    if (first !== undefined && first.bad === undefined) this.#startOfFile(file, first, carried);
    for (const [i, e] of entries.entries()) {
      const at = (x: { lineNo: number }) => `line ${x.lineNo}`;
      if (e.bad !== undefined) {
        this.#problem({ kind: 'invalid-line', file, line: e.lineNo, message: `line ${e.lineNo} is not an audit line (${e.bad}): it was modified or inserted` });
        reported.add(i);
        continue;
      }
      const original = byHash.get(e.hash);
      if (original !== undefined && original < i) {
        // The same bytes twice: the chain goes on from the copy as from the original, so only this says it.
        const of = entries[original]?.lineNo ?? 0;
        this.#problem({ kind: 'inserted', file, line: e.lineNo, seq: e.seq, message: `${at(e)} (seq ${e.seq}) is a copy of line ${of}: it was inserted` });
        reported.add(i);
        continue;
      }
      const p: { lineNo: number; seq: number; hash: string; file: string; bad?: string } | undefined = i === 0 ? carried : { ...entries[i - 1]!, file }; // eslint-disable-line @typescript-eslint/no-non-null-assertion
      if (p === undefined || p.bad !== undefined) continue;
      if (e.prev === p.hash && e.seq === p.seq + 1) continue;
      const pWhere = p.file === file ? at(p) : `line ${p.lineNo} of ${basename(p.file)}`;
      const pred = byHash.get(e.prev) ?? (carried !== undefined && e.prev === carried.hash ? -1 : undefined);
      if (pred === undefined) {
        if (prevs.has(p.hash) || (i > 0 && reported.has(i - 1))) {
          // The line before has its successor elsewhere: this one does not belong.
          this.#problem({ kind: 'inserted', file, line: e.lineNo, seq: e.seq, message: `${at(e)} (seq ${e.seq}) was inserted or modified: its prev matches no line` });
          reported.add(i);
        } else if (e.seq > p.seq + 1 && !seqs.has(p.seq + 1)) {
          const missing = e.seq - p.seq - 1;
          const which = missing === 1 ? `seq ${p.seq + 1} is missing` : `seq ${p.seq + 1} to ${e.seq - 1} (${missing} lines) are missing`;
          const eWhere = p.file === file ? at(e) : `line ${e.lineNo} of ${basename(file)}`;
          this.#problem({ kind: 'deleted', file, line: e.lineNo, seq: p.seq + 1, message: `${which} between ${pWhere} and ${eWhere} (deleted)` });
          reported.add(i);
        } else {
          this.#problem({
            kind: 'modified',
            file: p.file,
            line: p.lineNo,
            seq: p.seq,
            message: `${pWhere} (seq ${p.seq}) was modified: its hash does not match the prev of ${at(e)}${p.file === file ? '' : ` of ${basename(file)}`}`,
          });
          reported.add(i);
        }
      } else if (pred === i - 2 && !prevs.has(p.hash) && !reported.has(i - 1)) {
        this.#problem({ kind: 'inserted', file, line: p.lineNo, seq: p.seq, message: `a line was inserted at ${at(p)} (seq ${p.seq}): ${at(e)} chains to the line before it` });
        reported.add(i);
      } else if (e.seq < p.seq || pred >= i) {
        // Moved lines: reported once, at the line whose seq goes backwards.
        if (e.seq < p.seq) {
          this.#problem({ kind: 'reordered', file, line: e.lineNo, seq: e.seq, message: `${at(e)} (seq ${e.seq}) is out of order: it comes after ${pWhere} (seq ${p.seq})` });
          reported.add(i);
        }
      } else if (!reported.has(i - 1)) {
        this.#problem({ kind: 'reordered', file, line: e.lineNo, seq: e.seq, message: `${at(e)} (seq ${e.seq}) is out of order: it chains to a line further back` });
        reported.add(i);
      }
    }
  }

  /** The first line of a file: where the set starts, the seq its name promises, a repaired tail before it. */
  #startOfFile(file: string, first: Entry, carried: Carried | undefined): void {
    const named = firstSeqOfName(file);
    if (named !== undefined && named !== first.seq) {
      this.#problem({
        kind: 'deleted',
        file,
        line: first.lineNo,
        seq: first.seq,
        message: `${basename(file)} starts at seq ${first.seq} but its name says seq ${named}: lines were deleted from its start (or it was renamed)`,
      });
    }
    if (carried === undefined) {
      if (first.prev === GENESIS_PREV) {
        if (first.seq !== 1) this.#problem({ kind: 'modified', file, line: first.lineNo, seq: first.seq, message: `line ${first.lineNo} (seq ${first.seq}) starts the trail but its seq is not 1` });
      } else {
        this.#notes.push(`the files given start at seq ${first.seq} (earlier files removed by retention or not given): the lines before it cannot be checked`);
      }
    }
    const partial = carried?.partial;
    const repair = first.repair;
    if (partial !== undefined) {
      const recorded = repair !== undefined && repair.file === partial.file && repair.offset === partial.offset && repair.bytes === partial.bytes;
      if (!recorded) {
        this.#problem({
          kind: 'partial-line',
          file: carried?.file ?? file,
          message: `${basename(carried?.file ?? '')} ends with an incomplete line (${partial.bytes} bytes at offset ${partial.offset}) that the first event of ${basename(file)} does not record as a repair: the file was cut`,
        });
      } else {
        this.#notes.push(`${partial.file} ends with an incomplete line (${partial.bytes} bytes at offset ${partial.offset}, a crash mid-write); line 1 of ${basename(file)} records its repair`);
      }
    } else if (repair !== undefined) {
      if (repair.file.endsWith('.partial')) {
        this.#notes.push(`line 1 of ${basename(file)} records a repaired tail: ${repair.file} (${repair.bytes} bytes, no complete line) was set aside after a crash mid-write`);
      } else if (carried !== undefined) {
        this.#problem({
          kind: 'modified',
          file,
          line: first.lineNo,
          seq: first.seq,
          message: `line ${first.lineNo} of ${basename(file)} records an incomplete line at the end of ${repair.file}, but ${basename(carried.file)} has none: its end was changed`,
        });
      } else {
        this.#notes.push(`line 1 of ${basename(file)} records a repaired incomplete line at the end of ${repair.file} (not given)`);
      }
    }
  }

  /** The signed head: its signature, and the files reach it with the very checkpoint it names. */
  #checkHead(files: readonly string[]): void {
    const head = this.options.head;
    const newest = files.at(-1) ?? '';
    if (head === undefined) {
      if (this.options.requireHead === true && this.#checkpoints > 0) {
        this.#problem({ kind: 'head', file: 'head.json', message: 'head.json is missing though the trail has signed checkpoints: it was deleted, and with it what tells a cut tail' });
      }
      return;
    }
    if (head.checkpoint.key !== this.#keyId || !checkpointSignatureValid(this.publicKey, head.seq, head.prev, head.checkpoint.signature)) {
      this.#problem({ kind: 'head', file: 'head.json', seq: head.seq, message: `the head (seq ${head.seq}) is not signed by the key given (${this.#keyId})` });
      return;
    }
    const last = this.#last;
    if (last === undefined || last.seq < head.seq) {
      const ends = last === undefined ? 'the files hold no line' : `the trail ends at seq ${last.seq} (line ${last.lineNo} of ${basename(last.file)})`;
      this.#problem({
        kind: 'truncated',
        file: last?.file ?? newest,
        ...(last === undefined ? {} : { line: last.lineNo, seq: last.seq }),
        message: `${ends} but the signed head names the checkpoint at seq ${head.seq} in ${head.file}: the tail was cut`,
      });
      return;
    }
    if (this.#firstSeq !== undefined && head.seq < this.#firstSeq) return;
    const at = this.#atHead;
    const same =
      at?.entry.checkpoint !== undefined &&
      at.entry.prev === head.prev &&
      at.entry.checkpoint.signature === head.checkpoint.signature &&
      at.entry.checkpoint.time === head.checkpoint.time &&
      basename(at.file) === head.file;
    if (!same) {
      this.#problem({
        kind: 'modified',
        file: at?.file ?? newest,
        ...(at === undefined ? {} : { line: at.line }),
        seq: head.seq,
        message: `the line at seq ${head.seq}${at === undefined ? '' : ` (line ${at.line} of ${basename(at.file)})`} is not the checkpoint the signed head names: it was modified or replaced`,
      });
    }
  }
}
