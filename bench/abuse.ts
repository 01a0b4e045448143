/**
 * The abuse benchmark: attacks run long against a default broker process, one case at a time.
 *
 *   npm run bench:abuse                      every case with its defaults
 *   npm run bench:abuse -- fuzz              only the cases named
 *   npm run bench:abuse -- fuzz --frames=1e5 a case's flags (`--help` lists them)
 *
 * Each case starts its own broker and prints figures meant to be compared within the run (ratios to
 * the unloaded measure, memory before and after); docs/performance.md#abuse-runner says how to read them.
 */
import { BenchScope, FlagError, Flags, type AbuseCase } from './abuse/case.js';
import { ABUSE_CASES } from './abuse/cases.js';

function usage(): string {
  const lines = ['usage: npm run bench:abuse -- [case…] [--flag=value…]', '', 'cases:'];
  for (const c of ABUSE_CASES) {
    lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
    for (const [flag, value] of Object.entries(c.flags)) lines.push(`      --${flag}=${value}`);
  }
  return lines.join('\n');
}

function parse(argv: readonly string[]): { cases: AbuseCase[]; flags: Record<string, string> } | null {
  const names: string[] = [];
  const flags: Record<string, string> = {};
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return null;
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (m !== null) flags[m[1] as string] = m[2] as string;
    else if (arg.startsWith('-')) throw new Error(`${arg}: flags are --name=value\n\n${usage()}`);
    else names.push(arg);
  }
  const cases = names.length === 0 ? [...ABUSE_CASES] : names.map((n) => ABUSE_CASES.find((c) => c.name === n) ?? n);
  const unknown = cases.filter((c): c is string => typeof c === 'string');
  if (unknown.length > 0) throw new Error(`unknown case ${unknown.join(', ')}\n\n${usage()}`);
  const known = new Set(cases.flatMap((c) => Object.keys((c as AbuseCase).flags)));
  const stray = Object.keys(flags).filter((f) => !known.has(f));
  if (stray.length > 0) throw new Error(`no selected case reads --${stray.join(', --')}\n\n${usage()}`);
  return { cases: cases as AbuseCase[], flags };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
    return;
  }
  if (parsed === null) {
    console.log(usage());
    return;
  }
  const flags = new Flags(parsed.flags);
  for (const c of parsed.cases) {
    console.log(`\n== ${c.name}: ${c.summary}`);
    const settings = Object.keys(c.flags).map((f) => `${f}=${flags.text(c, f)}`);
    console.log(`   ${settings.join(' ')}`);
    const scope = new BenchScope();
    const started = performance.now();
    try {
      const figures = await c.run(scope, flags);
      const width = Math.max(44, ...figures.map((f) => f.name.length));
      for (const f of figures) console.log(`   ${f.name.padEnd(width)} ${formatValue(f.value).padStart(12)} ${f.unit.padEnd(10)} ${f.note ?? ''}`);
    } catch (err) {
      if (err instanceof FlagError) {
        console.error(`   ${err.message}`);
        process.exitCode = 2;
      } else {
        console.error(`   ${c.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        process.exitCode = 1;
      }
    } finally {
      scope.close();
    }
    console.log(`   (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

await main();
