/** Benchmark 5 — how the poll cycle grows with the job count, on the rig of ./cycleRig. */
import { figure, type BenchOptions, type Figure } from './common';
import { CycleRig, maxInFlightPerResource, MB, type CycleResult } from './cycleRig';

export async function benchGrowth(options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const BENCH = '5 growth';
  // Budgets far above what the machine can do, so the cycle measures the app, not the budget; the tables are
  // in memory (dev/memoryTables.ts: flat cost per operation), because Azurite's cost per write grows with the
  // table and would be what a 50,000-job run measures.
  const sizes = process.env.BENCH_GROWTH_SIZES
    ? process.env.BENCH_GROWTH_SIZES.split(',').map(Number)
    : quick
      ? [200, 600, 1_500]
      : [1_000, 10_000, 50_000];
  const resources = quick ? 10 : 50;
  const rig = await CycleRig.start({
    resources,
    latencyMs: 100,
    budget: { calls: 1000, per: 's' },
    storage: 'memory',
  });
  try {
    const inFlight = maxInFlightPerResource();
    const results: CycleResult[] = [];
    for (const jobs of sizes) {
      await rig.seed(jobs, log);
      const c = await rig.cycle(jobs, inFlight, { dueSetMemory: true });
      log(
        `    ${jobs} jobs: ${(c.run.durationMs / 1000).toFixed(2)} s, peak RSS ${(c.run.maxRssBytes / MB).toFixed(0)} MB, ` +
          `${(c.tableRequests / Math.max(1, c.run.report.polled)).toFixed(3)} Table tx/job`,
      );
      results.push(c);
    }
    const figures: Figure[] = [];
    for (const c of results) {
      figures.push(
        figure({
          benchmark: BENCH,
          name: `${c.jobs} jobs: cycle time`,
          measured: c.run.durationMs / 1000,
          unit: 's',
          baseline: { value: c.boundMs / 1000, label: 'jobs × latency ÷ in flight' },
          note:
            `${((c.run.durationMs / c.jobs) * 1000).toFixed(0)} µs per job (app CPU ${(c.run.cpuUs / c.jobs).toFixed(0)} µs), ` +
            `polled ${c.run.report.polled}, ` +
            `${(c.tableRequests / Math.max(1, c.run.report.polled)).toFixed(3)} Table tx per job; peak RSS ` +
            `${(c.run.maxRssBytes / MB).toFixed(0)} MB; due set ${((c.dueSetBytes ?? NaN) / MB).toFixed(1)} MB live ` +
            `(${((c.dueSetBytes ?? NaN) / c.jobs / 1024).toFixed(2)} KB per job)`,
        }),
      );
    }
    // Linear means a job costs the same at any size: the marginal cost per job of the larger step is compared
    // with that of the smaller step (fixed costs cancel out).
    const [a, b, c] = results as [CycleResult, CycleResult, CycleResult];
    const marginal = (x: CycleResult, y: CycleResult, value: (r: CycleResult) => number): number =>
      (value(y) - value(x)) / (y.jobs - x.jobs);
    /** One figure: the larger step's cost per added job against the smaller step's (target 1.25× unless `info`). */
    const perAddedJob = (
      name: string,
      unit: string,
      value: (r: CycleResult) => number,
      extra: { note?: string; info?: boolean } = {},
    ): Figure =>
      figure({
        benchmark: BENCH,
        name: `${name} per added job, ${b.jobs}→${c.jobs}${extra.info === true ? ' (info)' : ''}`,
        measured: marginal(b, c, value),
        unit,
        baseline: { value: marginal(a, b, value), label: `${a.jobs}→${b.jobs}` },
        ...(extra.info === true ? {} : { target: { on: 'ratio', op: '<=', limit: 1.25 } as const }),
        ...(extra.note !== undefined ? { note: extra.note } : {}),
      });
    figures.push(
      perAddedJob('cycle time', 'µs', (r) => r.run.durationMs * 1000),
      perAddedJob('app CPU', 'µs', (r) => r.run.cpuUs),
      perAddedJob('due-set memory', 'KB', (r) => (r.dueSetBytes ?? NaN) / 1024, {
        note: 'live heap (after a full GC) of the due set a cycle works from',
      }),
      perAddedJob('peak RSS', 'KB', (r) => r.run.maxRssBytes / 1024, {
        info: true,
        note:
          `peak RSS ${results.map((r) => `${(r.run.maxRssBytes / MB).toFixed(0)} MB`).join(' / ')}, of which live at rest ` +
          `(the in-memory tables with the app, after a full GC) ${results.map((r) => `${((r.seededHeapBytes ?? NaN) / MB).toFixed(0)} MB`).join(' / ')}; ` +
          'the rest is GC headroom (V8 grows the heap with the allocation rate), not retained data',
      }),
    );
    return figures;
  } finally {
    await rig.stop();
  }
}
