/**
 * The rig of benchmarks 2 and 5: the cycle in a fresh process (bench/cycleWorker.ts) built by functions/services.ts
 * from app settings, with the real clock, against Azurite behind a counting proxy (dev/trafficProxy.ts: every
 * Table request, a $batch counts once), one upstream simulator per resource (100 ms latency), and the Key Vault
 * and identity stand-ins (one secret per resource, read through the real SecretClient and
 * ManagedIdentityCredential).
 */
import { startAzurite, type AzuriteInstance } from '../dev/azurite';
import { startIdentityEndpoint, type IdentityEndpoint } from '../dev/identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from '../dev/keyVaultStandIn';
import { startTrafficProxy, type TrafficProxy } from '../dev/trafficProxy';
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import { MAX_IN_FLIGHT_PER_RESOURCE } from '../shared/poller/cycle';
import { createTableClientFactory, TableJobStore } from '../shared/store/tableJobStore';
import type { Job } from '../shared/model';
import { childCpuUs, seedJobs, startService } from './common';
import type { CycleRun, CycleWorkerInput, SeedSpec } from './cycleWorker';
import { addTrainingJobs } from './fixtures';

export const MB = 1024 * 1024;
/** A call whose arrival is this close to a window edge is judged by its slot, not by its jitter. */
export const WINDOW_JITTER_MS = 25;

/** The poller's per-resource concurrency. */
export function maxInFlightPerResource(): number {
  return MAX_IN_FLIGHT_PER_RESOURCE;
}

interface RigOptions {
  resources: number;
  latencyMs: number;
  /** Per-resource budget, as `UPSTREAM_RATE_LIMITS` takes it. */
  budget: { calls: number; per: 's' | 'min' };
}

export const PERIOD_MS = { s: 1_000, min: 60_000 } as const;

/**
 * The V8 heap of the function app's Node worker on its instance. Node sizes V8 from the memory it may use (a
 * cgroup's limit, else the machine's): in the 2,048 MB instance the infra deploys (`instanceMemoryMB`,
 * infra/app/function.bicep) the heap limit is 1,048 MB (measured: `node` in a 2 GiB memory cgroup), which these
 * flags reproduce on a machine of any size. Without them a worker on a 24 GB machine sizes its heap for 24 GB,
 * and V8 lets garbage grow to about 4× the live set before a full collection.
 */
export const INSTANCE_V8_ARGS: readonly string[] = ['--max-old-space-size=1024', '--max-semi-space-size=8'];

export interface CycleResult {
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
export class CycleRig {
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
        // A worker that keeps the tables in memory (benchmark 5) holds more than the app: not sized as the instance.
        ...(storage.kind === 'memory' ? [] : INSTANCE_V8_ARGS),
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
