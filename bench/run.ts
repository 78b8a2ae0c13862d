/**
 * `npm run bench [-- --quick] [-- --only 1,3]`: the speed and cost benchmarks, offline (Azurite, upstream
 * simulators, Key Vault and identity stand-ins). Prints one table (name | measured | baseline | ratio | target |
 * pass), writes bench/results.json, and exits 1 when a target is missed. Every ratio compares figures measured in
 * the same run on the same machine.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fmt, type BenchOptions, type Figure } from './common';
import { benchDropIn } from './dropIn';
import { benchFreshness } from './freshness';
import { benchLongPoll } from './longPoll';
import { benchNotifications } from './notifications';
import { benchGrowth } from './growth';
import { benchPollCycle } from './pollCycle';
import { benchReadPath } from './readPath';
import { benchReadPathSplit } from './readPathSplit';
import { benchScaleOut } from './scaleOut';
import { benchStartup } from './startup';
import { benchUpstreamSaved } from './upstreamSaved';

interface Benchmark {
  id: string;
  title: string;
  run: (options: BenchOptions) => Promise<Figure[]>;
  /** Diagnostic: runs only when named in `--only`. */
  onlyWhenNamed?: boolean;
}

const BENCHMARKS: readonly Benchmark[] = [
  { id: '1', title: 'cached read vs raw point read', run: benchReadPath },
  { id: '2', title: 'poll cycle vs its lower bound', run: benchPollCycle },
  { id: '3', title: 'upstream calls saved', run: benchUpstreamSaved },
  { id: '4', title: 'start-up and memory', run: benchStartup },
  { id: '5', title: 'growth', run: benchGrowth },
  { id: '6', title: 'freshness and budget use in steady state', run: benchFreshness },
  { id: '7', title: 'long-poll Table reads', run: benchLongPoll },
  { id: '8', title: 'notifications: transition to delivery', run: benchNotifications },
  { id: '9', title: 'scale-out, real processes, real time', run: benchScaleOut },
  { id: 'D', title: 'drop-in reads', run: benchDropIn },
  {
    id: 'H',
    title: 'where a status read over HTTP spends its CPU',
    run: benchReadPathSplit,
    onlyWhenNamed: true,
  },
];

function parseArgs(argv: readonly string[]): { quick: boolean; only?: Set<string> } {
  const quick = argv.includes('--quick');
  const i = argv.indexOf('--only');
  const inline = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const list = inline ?? (i >= 0 ? argv[i + 1] : undefined);
  return { quick, ...(list ? { only: new Set(list.split(',').map((s) => s.trim())) } : {}) };
}

function targetText(f: Figure): string {
  if (!f.target) return '';
  const { on, op, limit, judge } = f.target;
  const text = `${on === 'ratio' ? 'ratio ' : ''}${op === '<=' ? '≤' : '≥'} ${limit}${on === 'ratio' ? '×' : ` ${f.unit}`}`;
  // An interval target misses only when the whole interval is beyond the limit: a one-sided test at (1 + level) / 2.
  const level = f.interval?.level;
  return judge === 'interval' && level !== undefined
    ? `${text} (1-sided, ${Math.round(((1 + level) / 2) * 100)} %)`
    : text;
}

function ratioText(f: Figure): string {
  if (f.ratio === undefined) return '';
  const digits = (x: number): string => x.toFixed(x >= 100 ? 0 : 3);
  const interval = f.interval
    ? ` [${digits(f.interval.low)}–${digits(f.interval.high)}, ${Math.round(f.interval.level * 100)} %]`
    : '';
  return `${digits(f.ratio)}×${interval}`;
}

export function renderTable(figures: readonly Figure[]): string {
  const header = ['benchmark', 'name', 'measured', 'baseline', 'ratio', 'target', 'pass'];
  const rows = figures.map((f) => [
    f.benchmark,
    f.name,
    fmt(f.measured, f.unit),
    f.baseline ? `${fmt(f.baseline.value, f.unit)} (${f.baseline.label})` : '',
    ratioText(f),
    targetText(f),
    f.pass === undefined ? '' : f.pass ? 'PASS' : 'MISS',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  const notes = figures.filter((f) => f.note).map((f) => `- ${f.benchmark} / ${f.name}: ${f.note!}`);
  return [...out, ...(notes.length ? ['', 'Notes:', ...notes] : [])].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const options: BenchOptions = { quick: args.quick, log };
  const started = Date.now();
  const figures: Figure[] = [];
  const failures: string[] = [];
  for (const b of BENCHMARKS) {
    if (args.only ? !args.only.has(b.id) : b.onlyWhenNamed === true) continue;
    const t0 = Date.now();
    log(`[bench ${b.id}] ${b.title}${args.quick ? ' (quick)' : ''}`);
    try {
      figures.push(...(await b.run(options)));
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push(`${b.id}: ${message}`);
      figures.push({
        benchmark: `${b.id} ${b.title}`,
        name: 'benchmark failed to run',
        measured: NaN,
        unit: '',
        pass: false,
        note: message.split('\n')[0]!,
      });
      log(message);
    }
    log(`[bench ${b.id}] ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  // Grouped by benchmark number (benchmark 2 also reports the memory figure of benchmark 4); stable within.
  figures.sort((a, b) => parseInt(a.benchmark, 10) - parseInt(b.benchmark, 10));
  const table = renderTable(figures);
  const missed = figures.filter((f) => f.pass === false);
  process.stdout.write(
    `\n${table}\n\nMachine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}, ` +
      `load ${machine.loadAverage.join(' ')}. Mode: ${args.quick ? '--quick' : 'full'}. ` +
      `Took ${((Date.now() - started) / 1000).toFixed(0)} s.\n` +
      `${missed.length === 0 ? 'All targets met.' : `${missed.length} target(s) missed.`}\n`,
  );
  const file = path.join(__dirname, '..', '..', 'bench', 'results.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        mode: args.quick ? 'quick' : 'full',
        at: new Date().toISOString(),
        durationSeconds: Math.round((Date.now() - started) / 1000),
        machine,
        figures,
        failures,
      },
      null,
      2,
    )}\n`,
  );
  process.exitCode = missed.length > 0 || failures.length > 0 ? 1 : 0;
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
