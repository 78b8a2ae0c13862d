/**
 * Benchmark 6 — freshness and budget use in steady state (docs/spec.md §5). 30 simulated minutes with the default
 * minute schedule, cycle deadline and upstream timeout, over two resources: one of 20 calls a minute with 60
 * running jobs (oversubscribed: the budget is the limit) and one of 100 calls a minute with 40 (not). The cycle
 * claims its due jobs with budget slots up to the next cycle and hands those after its call window to the `polls`
 * queue (an in-memory queue delivering at the slot, as the Storage queue makes a message visible).
 *
 * Time is simulated (dev/virtualClock.ts, advanced by this driver), the tables are in memory (dev/memoryTables.ts,
 * which counts requests: a transaction counts once), the upstreams are real simulators over HTTP reading the same
 * clock: every call's arrival is recorded at its virtual instant, so the budget figures are exact.
 */
import { MemoryPollQueue } from '../dev/memoryPollQueue';
import { memoryTables, type MemoryTables } from '../dev/memoryTables';
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import { trackAll, VirtualClock } from '../dev/virtualClock';
import type { CycleReport } from '../shared/poller/poller';
import { TableJobStore, type TableClientFactory } from '../shared/store/tableJobStore';
import { fetchUpstream } from '../shared/upstream/http';
import { figure, percentile, seedJobs, type BenchOptions, type Figure } from './common';
import { addTrainingJobs, benchServices, fixedKey } from './fixtures';

const BENCH = '6 freshness';
const KEY = 'bench-freshness-key';
const MINUTE = 60_000;
const INTERVAL_MS = 60_000;
const RESOURCES = [
  { name: '20/min, 60 jobs', calls: 20, jobs: 60 },
  { name: '100/min, 40 jobs', calls: 100, jobs: 40 },
] as const;

export async function benchFreshness(options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const minutes = quick ? 12 : 30;
  // The first minutes fill the pipeline (every job due at once); steady state is measured after them.
  const warmupMinutes = quick ? 4 : 6;
  const start = Math.floor(Date.now() / MINUTE) * MINUTE;
  const clock = new VirtualClock(start, { advance: 'manual' });
  const tables = memoryTables();
  const counted = countByKind(tables);
  const store = trackAll(new TableJobStore({ tableClient: counted.factory }), clock);
  await store.initialize();
  const sims: UpstreamSimulator[] = [];
  try {
    for (const resource of RESOURCES) {
      const sim = await startUpstreamSimulator({ keys: [KEY], now: () => clock.now() });
      sims.push(sim);
      const jobs = addTrainingJobs(sim, {
        count: resource.jobs,
        now: clock.now(),
        runningMs: (minutes + 10) * MINUTE,
        keySecretName: KEY,
        prefix: `f${sims.length}`,
        pollIntervalSeconds: INTERVAL_MS / 1000,
      });
      await seedJobs(store, jobs);
    }
    const queue = new MemoryPollQueue(clock);
    const { poller } = benchServices(
      {
        ALLOWED_UPSTREAM_HOSTS: sims.map((s) => s.origin).join(','),
        UPSTREAM_RATE_LIMITS: sims
          .map((s, i) => `${new URL(s.origin).host}=${RESOURCES[i]!.calls}/min`)
          .join(','),
        // The defaults: a minute schedule, a 50 s deadline, a 10 s upstream timeout.
        CYCLE_DEADLINE_SECONDS: '50',
        UPSTREAM_TIMEOUT_SECONDS: '10',
      },
      {
        store,
        keys: fixedKey(KEY),
        clock,
        fetchUpstream: (url, o) => clock.track(fetchUpstream(url, o)),
        pollQueue: queue,
      },
    );
    queue.listen((message, o) => poller.pollQueued(message, o));

    const steadyFrom = start + warmupMinutes * MINUTE;
    const end = start + minutes * MINUTE;
    let requestsAtSteady = 0;
    const reports: CycleReport[] = [];
    let running: Promise<void> | undefined;
    for (let minute = 0; minute < minutes; minute++) {
      await clock.runUntil(start + minute * MINUTE);
      if (minute === warmupMinutes) {
        requestsAtSteady = tables.requests();
        counted.reset();
      }
      if (running !== undefined) {
        log(`    minute ${minute}: the previous cycle is still running; this one is skipped`);
        continue;
      }
      running = poller.runCycle().then(
        (r) => {
          reports.push(r);
          running = undefined;
        },
        () => {
          running = undefined;
        },
      );
      if (minute % 10 === 9) log(`    ${minute + 1} simulated minutes`);
    }
    await clock.runUntil(end);
    const requests = tables.requests() - requestsAtSteady;

    const figures: Figure[] = [];
    let steadyCalls = 0;
    RESOURCES.forEach((resource, i) => {
      const sim = sims[i]!;
      const calls = sim.calls.filter((c) => c.at.getTime() < end);
      const steady = calls.filter((c) => c.at.getTime() >= steadyFrom);
      steadyCalls += steady.length;
      // Gaps between two polls of one job, both in steady state.
      const byJob = new Map<string, number[]>();
      for (const call of steady) {
        const times = byJob.get(call.path) ?? [];
        times.push(call.at.getTime());
        byJob.set(call.path, times);
      }
      const gaps = Float64Array.from(
        [...byJob.values()].flatMap((t) => t.slice(1).map((at, k) => (at - t[k]!) / 1000)),
      ).sort();
      const ideal = Math.max(INTERVAL_MS / 1000, (resource.jobs / resource.calls) * 60);
      const budgetCalls = resource.calls * (minutes - warmupMinutes);
      const worst = sim.maxCallsInWindow(MINUTE);
      figures.push(
        figure({
          benchmark: BENCH,
          name: `${resource.name}: per-job gap p50`,
          measured: percentile(gaps, 50),
          unit: 's',
          baseline: { value: ideal, label: 'max(interval, jobs ÷ budget)' },
          target: { on: 'ratio', op: '<=', limit: 1.05 },
          note: `${gaps.length} gaps over ${byJob.size} jobs, minutes ${warmupMinutes}-${minutes}; max ${gaps.at(-1)?.toFixed(1) ?? '-'} s`,
        }),
        figure({
          benchmark: BENCH,
          name: `${resource.name}: per-job gap p99`,
          measured: percentile(gaps, 99),
          unit: 's',
          baseline: { value: ideal, label: 'max(interval, jobs ÷ budget)' },
          target: { on: 'ratio', op: '<=', limit: 1.25 },
        }),
        figure({
          benchmark: BENCH,
          name: `${resource.name}: calls over the budget in any 60 s`,
          measured: Math.max(0, worst - resource.calls),
          unit: 'calls',
          target: { on: 'value', op: '<=', limit: 0 },
          note: `most calls in any 60 s window: ${worst} (budget ${resource.calls}); ${calls.length} calls in all`,
        }),
      );
      if (resource.jobs / resource.calls > INTERVAL_MS / MINUTE)
        figures.push(
          figure({
            benchmark: BENCH,
            name: `${resource.name}: calls in steady state (budget use)`,
            measured: steady.length,
            unit: 'calls',
            baseline: { value: budgetCalls, label: `budget × ${minutes - warmupMinutes} min` },
            target: { on: 'ratio', op: '>=', limit: 0.95 },
          }),
        );
    });
    const handedOff = reports.reduce((n, r) => n + r.handedOff, 0);
    const polledByCycles = reports.reduce((n, r) => n + r.polled, 0);
    figures.push(
      figure({
        benchmark: BENCH,
        name: 'Table transactions per polled job (steady state, claims included)',
        measured: requests / Math.max(1, steadyCalls),
        unit: 'tx',
        target: { on: 'value', op: '<=', limit: 1.1 },
        note:
          `${requests} Table requests for ${steadyCalls} polls in minutes ${warmupMinutes}-${minutes}; whole run: ` +
          `${reports.length} cycles polled ${polledByCycles}, handed off ${handedOff}, queue outcomes ` +
          `${summarize(queue.outcomes.map((o) => String(o.outcome)))}, poisoned ${queue.poison.length}, ` +
          `errors ${reports.reduce((n, r) => n + r.errors, 0)}; by kind: ${counted.breakdown()}`,
      }),
    );
    return figures;
  } finally {
    for (const sim of sims) await sim.stop().catch(() => undefined);
  }
}

/**
 * Counts the Table requests by kind (which table, which operation, which partition), so the figure can be
 * broken down. The in-memory tables count a request synchronously when it is made (a query: when its page is
 * read), so the difference of the counter around each call is that call's requests.
 */
function countByKind(tables: MemoryTables): {
  factory: TableClientFactory;
  reset(): void;
  breakdown(): string;
} {
  const counts = new Map<string, number>();
  const add = (kind: string, n: number): void => {
    if (n > 0) counts.set(kind, (counts.get(kind) ?? 0) + n);
  };
  const counting = <T>(kind: string, run: () => T): T => {
    const before = tables.requests();
    const result = run();
    add(kind, tables.requests() - before);
    if (result instanceof Promise)
      result.catch((e: unknown) =>
        add(`${kind} (failed ${String((e as { statusCode?: number }).statusCode)})`, 1),
      );
    return result;
  };
  const factory: TableClientFactory = (name) => {
    const client = tables.factory(name);
    return new Proxy(client, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        const method = String(property);
        return (...args: unknown[]): unknown => {
          const first = args[0] as { partitionKey?: string } | string | undefined;
          const pk = typeof first === 'string' ? first : (first?.partitionKey ?? '');
          const where = name === 'pollstate' ? (pk.startsWith('s') ? 'pollstate' : `pollstate ${pk}`) : name;
          if (method !== 'listEntities')
            return counting(`${where} ${method}`, () =>
              (value as (...a: unknown[]) => unknown).apply(target, args),
            );
          const listed = (
            value as (...a: unknown[]) => { byPage(o?: unknown): AsyncIterableIterator<unknown[]> }
          ).apply(target, args);
          const byPage = (o?: unknown): AsyncIterableIterator<unknown[]> => {
            const pages = listed.byPage(o);
            const wrapped: AsyncIterableIterator<unknown[]> = {
              next: () => counting(`${name} query`, () => pages.next()),
              [Symbol.asyncIterator]: () => wrapped,
            };
            return wrapped;
          };
          return {
            byPage,
            [Symbol.asyncIterator]: async function* () {
              for await (const page of byPage()) yield* page;
            },
          };
        };
      },
    });
  };
  return {
    factory,
    reset: () => counts.clear(),
    breakdown: () =>
      [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', '),
  };
}

function summarize(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => `${v} ${n}`).join(', ') || 'none';
}
