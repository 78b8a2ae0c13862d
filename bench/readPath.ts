/**
 * Benchmark 1 — the cached read against the storage read underneath it.
 *
 * Same Azurite, same rows, same run, same concurrency levels (1, 16, 64), interleaved rounds:
 *   raw       TableClient.getEntity of the job row's status columns, the read the service makes (the floor: what
 *             any status read must cost)
 *   handler   the getJobStatus function handler, called in process as the Functions host calls it
 *   HTTP      GET /api/jobs/{id}/status through the local host (dev/host.ts) in its own process
 * and the 304 path (If-None-Match) against the 200 path. The in-process pair runs, load included, in a worker of its
 * own (./inProcessWorker.ts); this process drives the rounds and is the HTTP client.
 *
 * Each HTTP server runs as `PROCESSES` processes, and round pairs take them in turn, so that no one process's state
 * decides a run; the spread between them is printed (docs/performance.md, "fifth look").
 *
 * Every measured process (the HTTP servers and the in-process worker) runs with its young generation fixed at V8's
 * default maximum (`SERVER_FLAGS`), the size a busy process grows it to. Left to itself, V8 shrinks it in a process
 * whose allocation slows (here: while the other processes serve their rounds) and grows it back only over tens of
 * seconds of load: whichever processes were caught small served their next rounds at up to about twice the CPU per read
 * of the others, and one of three identical processes cost up to 1.6× another over a whole run (docs/performance.md,
 * "sixth look").
 */
import http from 'node:http';
import {
  figure,
  median,
  medianInterval,
  percentile,
  startService,
  type BenchOptions,
  type Figure,
  type Interval,
  type Service,
} from './common';
import { startPolledJobs } from './fixtures';
import type { InProcessRound, InProcessVariant, WireLoadResult } from './inProcessWorker';
import { httpGet, mergeLoads, runLoad, type LoadResult } from './load';
import { readStatusRow } from './rawStatusRead';
import { ownWork } from './readPathOwnWork';

const BENCH = '1 cached read';
const KEY = 'bench-read-key';
/** Processes per HTTP server (see above). */
const PROCESSES = 3;
/** V8 flags of every measured process: a fixed young generation of 2 × 16 MB (see above). */
const SERVER_FLAGS = ['--min-semi-space-size=16', '--max-semi-space-size=16'];

/**
 * The paired figures (p50, p99, throughput against the baseline) are judged on a 90 % bootstrap interval of their
 * median per-round ratio: one misses when the whole interval is beyond the limit (a one-sided test at 95 %). Their
 * spread from run to run on a 2-core machine is as wide as the targets' margins (p99s: about ±10–18 % at one
 * standard deviation), so a figure judged on its point value missed in most quick runs whatever the code did
 * (docs/performance.md, "seventh look").
 */
const INTERVAL_LEVEL = 0.9;

type Variant = 'raw' | 'handler' | 'handler304' | 'rawHttp' | 'http' | 'http304';
const VARIANTS: readonly Variant[] = ['raw', 'handler', 'handler304', 'rawHttp', 'http', 'http304'];

export async function benchReadPath(options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const jobCount = quick ? 200 : 1000;
  /** Reads of each variant before the first round (steady state: see below). */
  const warmupReads = quick ? 3_000 : 6_000;
  const concurrencies = [1, 16, 64];
  // Many short rounds, each measured variant next to its baseline in alternating order (AB, BA, ...), so noise
  // from other work on the machine falls on both alike; ratios are medians of the per-round ratios. A round records
  // `windowMs`, and longer until it holds `minSamples` requests (at most `maxMs`): on a busy machine a fixed window
  // can hold too few requests for a p99, or none.
  const plan: Record<number, { rounds: number; windowMs: number; minSamples: number; maxMs: number }> = quick
    ? {
        1: { rounds: 24, windowMs: 100, minSamples: 100, maxMs: 1000 },
        16: { rounds: 24, windowMs: 150, minSamples: 300, maxMs: 800 },
        64: { rounds: 24, windowMs: 250, minSamples: 600, maxMs: 1200 },
      }
    : {
        1: { rounds: 30, windowMs: 150, minSamples: 150, maxMs: 1500 },
        16: { rounds: 30, windowMs: 300, minSamples: 500, maxMs: 3000 },
        64: { rounds: 24, windowMs: 600, minSamples: 1000, maxMs: 6000 },
      };

  const { azurite, factory, jobs, appSettings, stop } = await startPolledJobs(jobCount, KEY);
  const stops: (() => Promise<void>)[] = [stop];
  try {
    log(`  ${jobCount} jobs seeded and polled once`);

    const ids = jobs.map((j) => j.id);
    // The in-process variants (the raw read, and the handler as the Functions host calls it) in a process of their
    // own with the servers' flags, which runs their load itself; this process only drives and collects.
    const inProcess = await startService(
      'inProcessWorker',
      appSettings,
      { connectionString: azurite.connectionString, ids },
      SERVER_FLAGS,
    );
    stops.unshift(() => inProcess.stop());
    const etags = inProcess.ready.etags as string[];

    // The local host in its own processes, and the physical limit over HTTP: a bare node:http server doing the raw
    // getEntity, in its own processes.
    const hostServices: Service[] = [];
    const rawServices: Service[] = [];
    for (let p = 0; p < PROCESSES; p++) {
      const host = await startService('hostWorker', appSettings, {}, [
        ...SERVER_FLAGS,
        ...profileArgs(process.env.BENCH_HOST_PROF),
      ]);
      stops.unshift(() => host.stop());
      hostServices.push(host);
      const bare = await startService('rawHttpWorker', {}, { connectionString: azurite.connectionString }, [
        ...SERVER_FLAGS,
        ...profileArgs(process.env.BENCH_RAW_PROF),
      ]);
      stops.unshift(() => bare.stop());
      rawServices.push(bare);
    }
    const hostPorts = hostServices.map((h) => Number(h.ready.port));
    const rawPorts = rawServices.map((r) => Number(r.ready.port));
    /** The process pair the current round uses (round pairs take them in turn). */
    let current = 0;
    // An idle socket is closed by the client after 1 s, well before the servers' 5 s keep-alive timeout: a round
    // never reuses a socket the server is closing (a spurious ECONNRESET after a long pause between rounds).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 1_000 });
    stops.unshift(() => Promise.resolve(agent.destroy()));

    const path = (id: string): string => `/api/jobs/${id}/status`;
    const n = ids.length;
    const expect = (want: number) => (got: number | undefined) => {
      if ((got ?? 200) !== want) throw new Error(`answered ${String(got)}, expected ${want}`);
    };
    const ops: Record<Exclude<Variant, InProcessVariant>, (i: number) => Promise<unknown>> = {
      rawHttp: (i) => httpGet(agent, rawPorts[current]!, `/raw/${ids[i % n]!}`, {}).then(expect(200)),
      http: (i) => httpGet(agent, hostPorts[current]!, path(ids[i % n]!), {}).then(expect(200)),
      http304: (i) =>
        httpGet(agent, hostPorts[current]!, path(ids[i % n]!), { 'if-none-match': etags[i % n]! }).then(
          expect(304),
        ),
    };
    const serverCpu: Partial<Record<Variant, () => Promise<number>>> = {
      rawHttp: () => rawServices[current]!.request<number>('cpu'),
      http: () => hostServices[current]!.request<number>('cpu'),
      http304: () => hostServices[current]!.request<number>('cpu'),
    };
    /** One round of `variant`: in the in-process worker, or from here against the current server process. */
    const round = async (variant: Variant, options: Omit<InProcessRound, 'variant'>): Promise<LoadResult> => {
      if (variant === 'raw' || variant === 'handler' || variant === 'handler304') {
        const r = await inProcess.request<WireLoadResult>('load', { variant, ...options });
        return { ...r, latencies: Float64Array.from(r.latencies) };
      }
      const measure = serverCpu[variant];
      return runLoad(ops[variant], { ...options, ...(measure ? { measure } : {}) });
    };

    // Paired, interleaved rounds: each measured variant runs right next to its baseline, in alternating order, so
    // noise from other work on a shared machine falls on both alike. Ratios (p50, p99, throughput) are medians of
    // the per-round ratios; measured and baseline are the medians of the per-round figures.
    const pairs: readonly (readonly [Variant, Variant])[] = [
      ['raw', 'handler'],
      ['rawHttp', 'http'],
      ['handler304', 'http304'],
    ];
    const results = new Map<string, LoadResult[]>();
    // Steady state before any round counts. Without this, the servers' CPU per read fell through all the c=1 rounds
    // (about 3,000 µs to 750 µs over some 3,000 reads, V8 compiling the hot code in tiers): the first rounds measured
    // how soon each process warmed up, not what it costs.
    /** Every variant once on every process it runs in (the in-process variants live in one worker). */
    const onEveryProcess = async (run: (variant: Variant) => Promise<unknown>): Promise<void> => {
      for (current = 0; current < PROCESSES; current++) {
        for (const variant of VARIANTS)
          if (current === 0 || serverCpu[variant] !== undefined) await run(variant);
      }
    };
    await onEveryProcess((variant) =>
      round(variant, {
        concurrency: 16,
        durationMs: 1,
        warmupMs: 0,
        minSamples: warmupReads,
        maxMs: 120_000,
      }),
    );
    /** Each HTTP server process's 200 rounds at c=16 and c=64: how far processes of one code differ. */
    const perProcess = {
      rawHttp: Array.from({ length: PROCESSES }, (): LoadResult[] => []),
      http: Array.from({ length: PROCESSES }, (): LoadResult[] => []),
    };
    for (const concurrency of concurrencies) {
      const { rounds, windowMs, minSamples, maxMs } = plan[concurrency]!;
      // Warm-up: every variant once (connections, JIT, the host's first invocation) before any round counts.
      await onEveryProcess((variant) => round(variant, { concurrency, durationMs: windowMs, warmupMs: 0 }));
      for (let i = 0; i < rounds; i++) {
        // Each process pair serves a round pair, AB then BA.
        current = Math.floor(i / 2) % PROCESSES;
        // The 304 pair only feeds the server-CPU notes: half the rounds are enough.
        const measured = i < Math.ceil(rounds / 2) ? pairs : pairs.slice(0, 2);
        for (const pair of measured) {
          for (const variant of i % 2 === 0 ? pair : [pair[1], pair[0]]) {
            const r = await round(variant, {
              concurrency,
              durationMs: windowMs,
              warmupMs: Math.round(windowMs / 4),
              minSamples,
              maxMs,
            });
            const key = `${variant}@${concurrency}`;
            results.set(key, [...(results.get(key) ?? []), r]);
            if ((variant === 'rawHttp' || variant === 'http') && concurrency > 1)
              perProcess[variant][current]!.push(r);
          }
        }
      }
      log(`  concurrency ${concurrency} done`);
    }
    const runs = (variant: Variant, c: number): LoadResult[] => results.get(`${variant}@${c}`)!;
    const get = (variant: Variant, c: number): LoadResult => mergeLoads(runs(variant, c));
    const pairedMedian = (
      variant: Variant,
      base: Variant,
      c: number,
      value: (r: LoadResult) => number,
    ): { measured: number; baseline: number; ratio: number; interval: Interval; spread: string } => {
      const m = runs(variant, c);
      const b = runs(base, c);
      const ratios = Float64Array.from(m.map((r, i) => value(r) / value(b[i]!))).sort();
      return {
        measured: median(m.map(value)),
        baseline: median(b.map(value)),
        ratio: percentile(ratios, 50),
        // How far this run's median ratio may be from the machine's (bootstrap over the round pairs): the figures
        // are judged on it (see INTERVAL_LEVEL).
        interval: medianInterval(ratios, INTERVAL_LEVEL),
        // The middle half of the per-round ratios: how much one round pair says on this machine.
        spread: `per-round ratios ${percentile(ratios, 25).toFixed(2)}–${percentile(ratios, 75).toFixed(2)} over ${ratios.length} rounds`,
      };
    };

    const figures: Figure[] = [];
    const compare = (c: number, label: string, variant: Variant, base: Variant, baseLabel: string): void => {
      const m = get(variant, c);
      const b = get(base, c);
      const failed = m.errors + b.errors;
      const firstError = m.firstError ?? b.firstError;
      const note =
        failed > 0
          ? `${failed} failed requests (${m.errors} / ${b.errors}${firstError ? `; first: ${firstError}` : ''})`
          : undefined;
      const p50 = pairedMedian(variant, base, c, (r) => percentile(r.latencies, 50));
      figures.push(
        figure({
          benchmark: BENCH,
          name: `c=${c} ${label} p50`,
          measured: p50.measured,
          unit: 'ms',
          baseline: { value: p50.baseline, label: baseLabel },
          ratio: p50.ratio,
          interval: p50.interval,
          target: { on: 'ratio', op: '<=', limit: 1.15, judge: 'interval' },
          note: `${p50.spread}${note ? `; ${note}` : ''}`,
        }),
      );
      const p99 = pairedMedian(variant, base, c, (r) => percentile(r.latencies, 99));
      figures.push(
        figure({
          benchmark: BENCH,
          name: `c=${c} ${label} p99`,
          measured: p99.measured,
          unit: 'ms',
          baseline: { value: p99.baseline, label: baseLabel },
          ratio: p99.ratio,
          interval: p99.interval,
          target: { on: 'ratio', op: '<=', limit: 1.15, judge: 'interval' },
          note: `${p99.spread}; merged over all rounds: p99 ${percentile(m.latencies, 99).toFixed(2)} ms vs ${percentile(b.latencies, 99).toFixed(2)} ms (${m.requests} / ${b.requests} requests)${note ? `; ${note}` : ''}`,
        }),
      );
      const tput = pairedMedian(variant, base, c, (r) => r.throughput);
      figures.push(
        figure({
          benchmark: BENCH,
          name: `c=${c} ${label} throughput`,
          measured: tput.measured,
          unit: 'req/s',
          baseline: { value: tput.baseline, label: baseLabel },
          ratio: tput.ratio,
          interval: tput.interval,
          target: { on: 'ratio', op: '>=', limit: 0.85, judge: 'interval' },
          note: `${tput.spread}${note ? `; ${note}` : ''}`,
        }),
      );
    };
    for (const c of concurrencies) {
      compare(c, 'handler in process', 'handler', 'raw', 'raw getEntity');
      compare(c, 'HTTP local host', 'http', 'rawHttp', 'raw getEntity, bare HTTP');
    }

    // The 304 path against the 200 path: the work each does above the storage read (the read is the same point
    // read for both), measured CPU-bound over a table client that answers from memory, on rows the store has not
    // kept parsed; the 200 path of a job read again unchanged; and, for the record, the whole server CPU per
    // request under load.
    const own = await ownWork(await readStatusRow(factory('jobs'), ids[0]!), KEY, quick);
    const rawCpu = get('raw', 16);
    figures.push(
      figure({
        benchmark: BENCH,
        name: '304 path: work above the read',
        measured: own.notModified,
        unit: 'µs',
        baseline: { value: own.ok, label: '200 path (incl. JSON)' },
        target: { on: 'ratio', op: '<=', limit: 1 },
      }),
      figure({
        benchmark: BENCH,
        name: '200 path: work above the read (info)',
        measured: own.ok,
        unit: 'µs',
        baseline: { value: rawCpu.cpuUs / rawCpu.requests, label: 'raw getEntity CPU, c=16' },
      }),
      figure({
        benchmark: BENCH,
        name: '200 path, job read again unchanged: work above the read (info)',
        measured: own.kept,
        unit: 'µs',
        baseline: { value: own.ok, label: '200 path, row not kept' },
      }),
    );
    for (const c of concurrencies) {
      const ok = get('http', c);
      const notModified = get('http304', c);
      const bare = get('rawHttp', c);
      const raw1 = get('raw', c);
      figures.push(
        figure({
          benchmark: BENCH,
          name: `c=${c} HTTP 304 server CPU/req (info)`,
          measured: notModified.extra / notModified.requests,
          unit: 'µs',
          baseline: { value: ok.extra / ok.requests, label: 'HTTP 200' },
        }),
        figure({
          benchmark: BENCH,
          name: `c=${c} HTTP 200 server CPU/req (info)`,
          measured: ok.extra / ok.requests,
          unit: 'µs',
          baseline: { value: bare.extra / bare.requests, label: 'bare HTTP server' },
        }),
        figure({
          benchmark: BENCH,
          name: `c=${c} HTTP local host p50 (info)`,
          measured: percentile(ok.latencies, 50),
          unit: 'ms',
          baseline: { value: percentile(raw1.latencies, 50), label: 'raw getEntity in process' },
          note: `the HTTP hop itself (bare server vs in-process raw) costs ${(percentile(bare.latencies, 50) - percentile(raw1.latencies, 50)).toFixed(2)} ms at p50 at c=${c}`,
        }),
      );
    }
    // How far processes of one code differ here (CPU per 200 read over each process's c=16 and c=64 rounds): the
    // reason each side runs as several processes.
    const cpuPerRead = (rounds: LoadResult[]): number =>
      rounds.reduce((a, r) => a + r.extra, 0) / rounds.reduce((a, r) => a + r.requests, 0);
    const spread = (variant: 'rawHttp' | 'http'): { ratio: number; each: string } => {
      const each = perProcess[variant].map(cpuPerRead);
      return {
        ratio: Math.max(...each) / Math.min(...each),
        each: each.map((x) => `${x.toFixed(0)} µs`).join(' / '),
      };
    };
    const bareSpread = spread('rawHttp');
    const hostSpread = spread('http');
    figures.push(
      figure({
        benchmark: BENCH,
        name: `HTTP server CPU/req, slowest ÷ fastest of ${PROCESSES} processes (info)`,
        measured: hostSpread.ratio,
        unit: '×',
        baseline: { value: bareSpread.ratio, label: 'the same for the bare server' },
        note: `per process, c=16 and c=64 rounds: local host ${hostSpread.each}; bare server ${bareSpread.each}`,
      }),
    );
    return figures;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}

/** A worker's CPU-profile flags when `dir` (one of the BENCH_*_PROF variables) is set. */
function profileArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
