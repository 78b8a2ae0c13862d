/**
 * Benchmark 2 — a poll cycle against its lower bound; and benchmark 5 — how the cycle grows with the job count.
 *
 * The cycle runs in a fresh process (bench/cycleWorker.ts) built by functions/services.ts from app settings, as
 * in Azure, with the real clock, against: Azurite behind a counting proxy (dev/trafficProxy.ts: every Table
 * request, a $batch counts once), one upstream simulator per resource (100 ms latency), and the Key Vault and
 * identity stand-ins (one secret per resource, read through the real SecretClient and ManagedIdentityCredential).
 *
 * Lower bound of a cycle of J due jobs over R resources of budget b calls/s each, upstream latency L, at most C
 * calls in flight per resource: max(J ÷ (R·b), J·L ÷ (R·C)).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../dev/azurite';
import { startIdentityEndpoint, type IdentityEndpoint } from '../dev/identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from '../dev/keyVaultStandIn';
import { startTrafficProxy, type TrafficProxy } from '../dev/trafficProxy';
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import { createTableClientFactory, TableJobStore } from '../shared/store/tableJobStore';
import type { Job } from '../shared/model';
import { childCpuUs, figure, seedJobs, startService, type BenchOptions, type Figure } from './common';
import type { CycleRun, CycleWorkerInput, SeedSpec } from './cycleWorker';
import { addTrainingJobs } from './fixtures';

const MB = 1024 * 1024;
/** A call whose arrival is this close to a window edge is judged by its slot, not by its jitter. */
const WINDOW_JITTER_MS = 25;

/** The poller's per-resource concurrency (MAX_IN_FLIGHT_PER_RESOURCE in shared/poller/poller.ts; not exported). */
export function maxInFlightPerResource(): number {
  const compiled = readFileSync(path.join(__dirname, '..', 'shared', 'poller', 'poller.js'), 'utf8');
  const m = /MAX_IN_FLIGHT_PER_RESOURCE = (\d+)/.exec(compiled);
  if (!m) throw new Error('MAX_IN_FLIGHT_PER_RESOURCE not found in shared/poller/poller.js');
  return Number(m[1]);
}

interface RigOptions {
  resources: number;
  latencyMs: number;
  /** Per-resource budget, as `UPSTREAM_RATE_LIMITS` takes it. */
  budget: { calls: number; per: 's' | 'min' };
}

const PERIOD_MS = { s: 1_000, min: 60_000 } as const;

interface CycleResult {
  jobs: number;
  run: CycleRun;
  boundMs: number;
  budgetBoundMs: number;
  concurrencyBoundMs: number;
  tableRequests: number;
  vaultReads: number;
  distinctSecrets: number;
  upstreamCalls: number;
  /** Σ over resources of the calls above the budget in the worst window. */
  callsOverBudget: number;
  worstWindow: number;
  /** Shortest time (ms) in which any resource received budget + 1 calls (≥ the period when within budget). */
  shortestOverSpanMs: number;
  /** CPU time Azurite spent during the cycle (µs), where it can be read. */
  storageCpuUs?: number;
  /** Live heap after seeding in-memory tables (the tables and the app at rest), bytes. */
  seededHeapBytes?: number;
  /** Live heap of the due set, when measured (bytes). */
  dueSetBytes?: number;
  /** Arrival of the first and the last upstream call, ms after the cycle started. */
  firstCallMs: number;
  lastCallMs: number;
}

/** Where the tables live: Azurite behind the counting proxy, or in the worker (dev/memoryTables.ts). */
type Storage =
  | { kind: 'azurite'; azurite: AzuriteInstance; proxy: TrafficProxy; store: TableJobStore }
  | { kind: 'memory' };

/** Storage + vault + identity + one simulator per resource, and the app settings for them. */
class CycleRig {
  private seeded: SeedSpec | undefined;

  private constructor(
    private readonly options: RigOptions,
    private readonly storage: Storage,
    private readonly identity: IdentityEndpoint,
    private readonly vault: KeyVaultStandIn,
    private readonly sims: UpstreamSimulator[],
  ) {}

  static async start(options: RigOptions & { storage: Storage['kind'] }): Promise<CycleRig> {
    const started: { stop(): Promise<void> }[] = [];
    try {
      let storage: Storage = { kind: 'memory' };
      if (options.storage === 'azurite') {
        const azurite = await startAzurite();
        started.push(azurite);
        const proxy = await startTrafficProxy(azurite.tableEndpoint.replace(/\/devstoreaccount1$/, ''));
        started.push(proxy);
        const store = new TableJobStore({
          tableClient: createTableClientFactory({ connectionString: azurite.connectionString }),
        });
        await store.initialize();
        storage = { kind: 'azurite', azurite, proxy, store };
      }
      const identity = await startIdentityEndpoint();
      started.push(identity);
      const secrets: Record<string, string> = {};
      for (let r = 0; r < options.resources; r++) secrets[secretName(r)] = keyOf(r);
      const vault = await startKeyVault({
        secrets,
        validateToken: (token) => identity.isValidToken(token),
        tenantId: identity.tenantId,
      });
      started.push(vault);
      const sims: UpstreamSimulator[] = [];
      for (let r = 0; r < options.resources; r++) {
        const sim = await startUpstreamSimulator({ keys: [keyOf(r)], latencyMs: options.latencyMs });
        sims.push(sim);
        started.push(sim);
      }
      return new CycleRig(options, storage, identity, vault, sims);
    } catch (error) {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
      throw error;
    }
  }

  /** The app settings of the worker: storage (through the counting proxy), the stand-ins, the budgets. */
  settings(jobs: number): Record<string, string> {
    const storage = this.storage;
    return {
      AzureWebJobsStorage:
        storage.kind === 'azurite'
          ? storage.azurite.connectionString.replace(
              /TableEndpoint=[^;]+/,
              `TableEndpoint=${storage.proxy.origin}/devstoreaccount1`,
            )
          : 'UseDevelopmentStorage=true', // not contacted: the worker keeps its tables in memory
      KEY_VAULT_URL: this.vault.url,
      IDENTITY_ENDPOINT: this.identity.endpoint,
      IDENTITY_HEADER: this.identity.header,
      ALLOWED_UPSTREAM_HOSTS: this.sims.map((s) => s.origin).join(','),
      UPSTREAM_RATE_LIMITS: this.sims
        .map((s) => `${new URL(s.origin).host}=${this.options.budget.calls}/${this.options.budget.per}`)
        .join(','),
      UPSTREAM_TIMEOUT_SECONDS: '10',
      CYCLE_DEADLINE_SECONDS: '1800',
      CYCLE_MAX_JOBS: String(Math.max(jobs, 1)),
    };
  }

  /**
   * `jobs` due jobs spread evenly over the resources: their training runs on the simulators, and (Azurite) their
   * registrations in emptied tables; in-memory tables are seeded by the worker itself. Not measured.
   */
  async seed(jobs: number, log: (line: string) => void): Promise<void> {
    const now = new Date();
    const prefix = `n${jobs}`;
    const spec: SeedSpec = { now: now.toISOString(), prefix, resources: [] };
    const all: Job[] = [];
    const perResource = Math.ceil(jobs / this.sims.length);
    for (const [r, sim] of this.sims.entries()) {
      sim.resetCalls();
      const count = Math.min(perResource, jobs - r * perResource);
      if (count <= 0) continue;
      spec.resources.push({ origin: sim.origin, keySecretName: secretName(r), count });
      all.push(
        ...addTrainingJobs(sim, { count, now, runningMs: 3_600_000, keySecretName: secretName(r), prefix }),
      );
    }
    this.seeded = spec;
    if (this.storage.kind === 'memory') return;
    const { azurite, store } = this.storage;
    const client = createTableClientFactory({ connectionString: azurite.connectionString });
    for (const table of ['jobs', 'pollstate']) await client(table).deleteTable();
    await store.initialize();
    const t0 = Date.now();
    await seedJobs(store, all, 48, (done) => log(`    seeded ${done} / ${all.length}`));
    log(`    ${all.length} jobs seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** One cycle in a fresh worker process, with the Table requests and vault reads it made. */
  async cycle(
    jobs: number,
    inFlight: number,
    options: { dueSetMemory?: boolean } = {},
  ): Promise<CycleResult> {
    const storage = this.storage;
    const worker = await startService(
      'cycleWorker',
      this.settings(jobs),
      { memoryTables: storage.kind === 'memory' } satisfies CycleWorkerInput,
      [
        ...(options.dueSetMemory ? ['--expose-gc'] : []),
        ...(process.env.BENCH_WORKER_PROF
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`]
          : []),
        ...(process.env.BENCH_WORKER_ARGS ? process.env.BENCH_WORKER_ARGS.split(' ') : []),
      ],
    );
    try {
      const seededHeap =
        storage.kind === 'memory'
          ? (await worker.request<{ jobs: number; heapBytes: number }>('seed', this.seeded)).heapBytes
          : undefined;
      const dueSet = options.dueSetMemory
        ? await worker.request<{ count: number; bytes: number }>('dueSet')
        : undefined;
      for (const sim of this.sims) sim.resetCalls();
      const readsBefore = sum(this.vault.reads.values());
      const tableRequests = async (): Promise<number> =>
        storage.kind === 'azurite' ? storage.proxy.requests.length : worker.request<number>('tableRequests');
      if (storage.kind === 'azurite') storage.proxy.resetCount();
      const tableBefore = await tableRequests();
      const storageBefore = storage.kind === 'azurite' ? childCpuUs('azurite') : undefined;
      const run = await worker.request<CycleRun>('cycle');
      const storageAfter = storage.kind === 'azurite' ? childCpuUs('azurite') : undefined;
      const tableCount = (await tableRequests()) - tableBefore;
      const storageCpuUs =
        storageBefore !== undefined && storageAfter !== undefined ? storageAfter - storageBefore : undefined;
      if (process.env.BENCH_DEBUG && storage.kind === 'azurite') {
        const kinds = new Map<string, number>();
        for (const r of storage.proxy.requests) {
          const k = `${r.method} ${r.path.replace(/\?.*/, '').replace(/'[^']*'/g, "'…'")}`;
          kinds.set(k, (kinds.get(k) ?? 0) + 1);
        }
        console.error([...kinds].map(([k, n]) => `      ${n} ${k}`).join('\n'));
      }
      const vaultReads = sum(this.vault.reads.values()) - readsBefore;
      const { resources, budget, latencyMs } = this.options;
      const periodMs = PERIOD_MS[budget.per];
      const budgetBoundMs = (jobs / (resources * budget.calls)) * periodMs;
      const concurrencyBoundMs = (jobs * latencyMs) / (resources * inFlight);
      let callsOverBudget = 0;
      let worstWindow = 0;
      let shortestOverSpanMs = Infinity;
      for (const sim of this.sims) {
        const times = sim.calls.map((call) => call.at.getTime()).sort((x, y) => x - y);
        for (let i = 0; i + budget.calls < times.length; i++) {
          shortestOverSpanMs = Math.min(shortestOverSpanMs, times[i + budget.calls]! - times[i]!);
        }
        const worst = sim.maxCallsInWindow(periodMs - WINDOW_JITTER_MS);
        worstWindow = Math.max(worstWindow, worst);
        callsOverBudget += Math.max(0, worst - budget.calls);
      }
      const started = Date.parse(run.report.startedAt);
      const arrivals = this.sims.flatMap((sim) => sim.calls.map((call) => call.at.getTime() - started));
      return {
        jobs,
        run,
        ...(dueSet ? { dueSetBytes: dueSet.bytes } : {}),
        ...(storageCpuUs !== undefined ? { storageCpuUs } : {}),
        ...(seededHeap !== undefined ? { seededHeapBytes: seededHeap } : {}),
        firstCallMs: arrivals.reduce((a, b) => Math.min(a, b), Infinity),
        lastCallMs: arrivals.reduce((a, b) => Math.max(a, b), -Infinity),
        boundMs: Math.max(budgetBoundMs, concurrencyBoundMs),
        budgetBoundMs,
        concurrencyBoundMs,
        tableRequests: tableCount,
        vaultReads,
        distinctSecrets: Math.min(resources, jobs),
        upstreamCalls: sum(this.sims.map((s) => s.calls.length)),
        callsOverBudget,
        worstWindow,
        shortestOverSpanMs,
      };
    } finally {
      await worker.stop();
    }
  }

  async stop(): Promise<void> {
    const storage = this.storage.kind === 'azurite' ? [this.storage.proxy, this.storage.azurite] : [];
    for (const s of [...this.sims, this.vault, this.identity, ...storage]) {
      await s.stop().catch(() => undefined);
    }
  }
}

function secretName(resource: number): string {
  return `upstream-key-${resource}`;
}

function keyOf(resource: number): string {
  return `bench-key-${resource}-0f3c9a`;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

// ---------------------------------------------------------------------------------------------------------------

export async function benchPollCycle(options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const BENCH = '2 poll cycle';
  // Full: 10,000 jobs over 50 resources at the Language authoring default budget (100 calls/min each, docs/spec.md §1):
  // a 120 s bound, at a rate (83 jobs/s) this shared 2-core machine sustains. Quick: 200 jobs over 10 at 5/s.
  const jobs = quick ? 200 : 10_000;
  const budget = quick ? ({ calls: 5, per: 's' } as const) : ({ calls: 100, per: 'min' } as const);
  const rig = await CycleRig.start({
    resources: quick ? 10 : 50,
    latencyMs: 100,
    budget,
    storage: 'azurite',
  });
  try {
    const inFlight = maxInFlightPerResource();
    await rig.seed(jobs, log);
    const c = await rig.cycle(jobs, inFlight);
    const { run } = c;
    log(
      `    cycle: ${run.report.polled} polled in ${(run.durationMs / 1000).toFixed(2)} s (bound ${(c.boundMs / 1000).toFixed(2)} s), ` +
        `${c.tableRequests} Table requests, ${c.vaultReads} vault reads; upstream calls from ` +
        `${(c.firstCallMs / 1000).toFixed(2)} s to ${(c.lastCallMs / 1000).toFixed(2)} s; worker CPU ` +
        `${(run.cpuUs / 1000).toFixed(0)} ms (${(run.cpuUs / Math.max(1, run.report.polled)).toFixed(0)} µs per job)`,
    );
    const boundLabel =
      c.budgetBoundMs >= c.concurrencyBoundMs
        ? `bound: ${jobs} jobs ÷ budget`
        : `bound: jobs × latency ÷ ${inFlight} in flight`;
    return [
      figure({
        benchmark: BENCH,
        name: `cycle time, ${jobs} due jobs`,
        measured: run.durationMs / 1000,
        unit: 's',
        baseline: { value: c.boundMs / 1000, label: boundLabel },
        target: { on: 'ratio', op: '<=', limit: 1.2 },
        note:
          `budget bound ${(c.budgetBoundMs / 1000).toFixed(2)} s, concurrency bound ${(c.concurrencyBoundMs / 1000).toFixed(2)} s; ` +
          `app CPU ${(run.cpuUs / Math.max(1, run.report.polled)).toFixed(0)} µs per job, Azurite CPU ` +
          `${((c.storageCpuUs ?? NaN) / Math.max(1, run.report.polled)).toFixed(0)} µs per job; ` +
          `report: polled ${run.report.polled}, errors ${run.report.errors}, deferred ${run.report.deferred}, lost races ${run.report.lostRaces}`,
      }),
      figure({
        benchmark: BENCH,
        name: 'jobs polled in the cycle',
        measured: run.report.polled,
        unit: 'jobs',
        baseline: { value: jobs, label: 'due' },
        target: { on: 'ratio', op: '>=', limit: 1 },
      }),
      figure({
        benchmark: BENCH,
        name: 'upstream calls over any budget',
        measured: c.callsOverBudget,
        unit: 'calls',
        target: { on: 'value', op: '<=', limit: 0 },
        note:
          `worst window of ${budget.per === 's' ? '1 s' : '1 min'} (less ${WINDOW_JITTER_MS} ms of jitter) on any resource: ` +
          `${c.worstWindow} calls, budget ${budget.calls}/${budget.per}; shortest span holding ${budget.calls + 1} calls: ` +
          `${(c.shortestOverSpanMs / 1000).toFixed(3)} s (within budget: ≥ ${PERIOD_MS[budget.per] / 1000} s); ${c.upstreamCalls} upstream calls in all`,
      }),
      figure({
        benchmark: BENCH,
        name: 'Table transactions per polled job',
        measured: c.tableRequests / Math.max(1, run.report.polled),
        unit: 'tx',
        note: `${c.tableRequests} Table requests (a $batch counts once) for ${run.report.polled} polled jobs`,
        target: { on: 'value', op: '<=', limit: 1.1 },
      }),
      figure({
        benchmark: BENCH,
        name: 'Key Vault reads per cycle',
        measured: c.vaultReads,
        unit: 'reads',
        baseline: { value: c.distinctSecrets, label: 'distinct secrets' },
        target: { on: 'ratio', op: '<=', limit: 1 },
      }),
      figure({
        benchmark: '4 start-up and memory',
        name: `peak RSS, ${jobs}-job cycle`,
        measured: run.maxRssBytes / MB,
        unit: 'MB',
        target: { on: 'value', op: '<=', limit: 256 },
        note: `RSS before the cycle ${(run.rssBeforeBytes / MB).toFixed(0)} MB; sampled peak during it ${(run.sampledPeakRssBytes / MB).toFixed(0)} MB`,
      }),
    ];
  } finally {
    await rig.stop();
  }
}

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
    const time = (r: CycleResult): number => r.run.durationMs * 1000; // µs
    const appCpu = (r: CycleResult): number => r.run.cpuUs;
    const rss = (r: CycleResult): number => r.run.maxRssBytes / 1024; // KB
    const live = (r: CycleResult): number => (r.dueSetBytes ?? NaN) / 1024; // KB
    figures.push(
      figure({
        benchmark: BENCH,
        name: `cycle time per added job, ${b.jobs}→${c.jobs}`,
        measured: marginal(b, c, time),
        unit: 'µs',
        baseline: { value: marginal(a, b, time), label: `${a.jobs}→${b.jobs}` },
        target: { on: 'ratio', op: '<=', limit: 1.25 },
      }),
      figure({
        benchmark: BENCH,
        name: `app CPU per added job, ${b.jobs}→${c.jobs}`,
        measured: marginal(b, c, appCpu),
        unit: 'µs',
        baseline: { value: marginal(a, b, appCpu), label: `${a.jobs}→${b.jobs}` },
        target: { on: 'ratio', op: '<=', limit: 1.25 },
      }),
      figure({
        benchmark: BENCH,
        name: `due-set memory per added job, ${b.jobs}→${c.jobs}`,
        measured: marginal(b, c, live),
        unit: 'KB',
        baseline: { value: marginal(a, b, live), label: `${a.jobs}→${b.jobs}` },
        target: { on: 'ratio', op: '<=', limit: 1.25 },
        note: 'live heap (after a full GC) of the due set a cycle works from',
      }),
      figure({
        benchmark: BENCH,
        name: `peak RSS per added job, ${b.jobs}→${c.jobs} (info)`,
        measured: marginal(b, c, rss),
        unit: 'KB',
        baseline: { value: marginal(a, b, rss), label: `${a.jobs}→${b.jobs}` },
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
