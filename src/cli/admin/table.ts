import { printable } from '../../client/printable.js';

/**
 * Columns padded to their widest cell and separated by two spaces, as kafka-consumer-groups.sh
 * prints them: easy to read and to cut with `awk`. The last column is not padded, so no line ends in
 * spaces. Cells come from the broker: they are escaped (../../client/printable.ts), so that none can
 * break a line or hide in the terminal.
 */
export function formatTable(headers: readonly string[], cells: readonly (readonly string[])[]): string {
  const rows = cells.map((row) => row.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((l) => `${l}\n`).join('');
}
