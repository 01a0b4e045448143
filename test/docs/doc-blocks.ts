/**
 * The shell blocks of the docs that are run by test/docs/doc-commands.test.ts: fenced blocks whose
 * info string is `sh doctest` (GitHub highlights them as `sh`, from the first word). Every other
 * block, `sh` ones included, is left alone: it may need what the harness lacks (another machine, a
 * real CA, root) or only show output. docs/contributing.md#docs-that-run gives the contract.
 */
export interface DocBlock {
  /** The markdown file, as given. */
  readonly file: string;
  /** Line number (1-based) of the opening fence. */
  readonly line: number;
  readonly script: string;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;

function isDoctest(info: string): boolean {
  const words = info.trim().split(/\s+/);
  return words.length === 2 && words[0] === 'sh' && words[1] === 'doctest';
}

/**
 * The marked blocks of one markdown text, in order (CommonMark fences: a block closes at a fence of
 * the same character at least as long; the opening fence's indentation is removed from its lines).
 */
export function doctestBlocks(markdown: string, file: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split(/\r?\n/);
  let open: { fence: string; indent: number; line: number; marked: boolean; body: string[] } | undefined;
  for (const [index, text] of lines.entries()) {
    if (open === undefined) {
      const m = FENCE.exec(text);
      if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
      // A backtick fence's info string may not hold a backtick (CommonMark): that is inline code.
      if (m[2].startsWith('`') && m[3].includes('`')) continue;
      open = { fence: m[2], indent: m[1].length, line: index + 1, marked: isDoctest(m[3]), body: [] };
      continue;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
    if (close?.[1] !== undefined && close[1][0] === open.fence[0] && close[1].length >= open.fence.length) {
      if (open.marked) blocks.push({ file, line: open.line, script: `${open.body.join('\n')}\n` });
      open = undefined;
      continue;
    }
    open.body.push(text.replace(new RegExp(`^ {0,${open.indent}}`), ''));
  }
  if (open?.marked === true) throw new Error(`${file}:${open.line}: a sh doctest block is never closed`);
  return blocks;
}
