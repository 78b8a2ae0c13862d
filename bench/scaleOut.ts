/**
 * Benchmark 9 — scale-out, real processes, real time (docs/spec.md §5, §10). The compiled local host runs as real
 * child processes (`node dist/dev/start.js --role timer|worker`, bench/scaleOutProcesses.ts) over one Azurite, with
 * the Key Vault and identity stand-ins and upstream simulators (one server per resource) in this process, which
 * count every call per job and per resource with its arrival time.
 *
 * - **Fleet under budget.** 2 timer hosts (a cycle every 10 s, fired at the same instants on both) and 4 `pollJob`
 *   workers over 32 running jobs (10 s interval) on two resources whose small budgets are the limit: duplicate calls,
 *   calls over budget at the simulators, every due job polled.
 * - **Worker throughput.** The same handed-off work (one cycle whose call window is empty hands every job to the
 *   `polls` queue) taken by 1 worker, then by 4, with budgets far above what the workers can do and a 1 s upstream
 *   latency: polls per second of the workers, and their ratio.
 *
 * Every figure is a count at the simulators or in the processes' log lines (`job polled {…applied}`).
 */
import { startAzurite, type AzuriteInstance } from '../dev/azurite';
import { startIdentityEndpoint, type IdentityEndpoint } from '../dev/identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from '../dev/keyVaultStandIn';
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import type { HostRole } from '../dev/roles';
import type { Job } from '../shared/model';
import { createTableClientFactory, TableJobStore } from '../shared/store/tableJobStore';
import { figure, newJob, seedJobs, sleep, type BenchOptions, type Figure } from './common';
import { functionLines, startHostProcess, type HostProcess } from './scaleOutProcesses';

const BENCH = '9 scale-out';
const KEY = 'bench-scale-out-key-5c1e';
const SECRET = 'scale-out-key';
const MINUTE = 60_000;
const TRAINING_PATH = /persongroups\/([^/]+)\/training/i;

interface StandIns {
  identity: IdentityEndpoint;
  vault: KeyVaultStandIn;
  stop(): Promise<void>;
}

async function startStandIns(): Promise<StandIns> {
  const identity = await startIdentityEndpoint();
  const vault = await startKeyVault({
    secrets: { [SECRET]: KEY },
    validateToken: (token) => identity.isValidToken(token),
    tenantId: identity.tenantId,
  }).catch(async (error: unknown) => {
    await identity.stop();
    throw error;
  });
  return {
    identity,
    vault,
    stop: async () => {
      await vault.stop();
      await identity.stop();
    },
  };
}

/** Running Face person groups (two hours of training) on `sim`, as `POST /api/jobs` would register them. */
function runningGroups(
  sim: UpstreamSimulator,
  prefix: string,
  count: number,
  intervalSeconds: number,
): Job[] {
  const now = new Date();
  const jobs: Job[] = [];
  for (let i = 0; i < count; i++) {
    const personGroupId = `${prefix}-${i}`;
    sim.addFaceGroup(personGroupId, {
      createdAt: new Date(now.getTime() - 60 * MINUTE),
      trainings: [
        { startAt: new Date(now.getTime() - 5 * MINUTE), durationMs: 120 * MINUTE, outcome: 'succeeded' },
      ],
    });
    jobs.push(newJob('face.personGroup', { personGroupId }, sim.origin, SECRET, now, intervalSeconds));
  }
  return jobs;
}

/** A fresh Azurite with `jobs` registered in the app's tables. */
async function azuriteWith(jobs: readonly Job[]): Promise<AzuriteInstance> {
  const azurite = await startAzurite();
  try {
    const store = new TableJobStore({
      tableClient: createTableClientFactory({ connectionString: azurite.connectionString }),
    });
    await store.initialize();
    await seedJobs(store, jobs, 16);
    return azurite;
  } catch (error) {
    await azurite.stop();
    throw error;
  }
}

function appSettings(
  azurite: AzuriteInstance,
  standIns: StandIns,
  sims: readonly UpstreamSimulator[],
  budget: (sim: number) => string,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URL: standIns.vault.url,
    IDENTITY_ENDPOINT: standIns.identity.endpoint,
    IDENTITY_HEADER: standIns.identity.header,
    ALLOWED_UPSTREAM_HOSTS: sims.map((s) => s.origin).join(','),
    UPSTREAM_RATE_LIMITS: sims.map((s, i) => `${new URL(s.origin).host}=${budget(i)}`).join(','),
    ...extra,
  };
}

async function startFleet(
  roles: readonly HostRole[],
  settings: Record<string, string>,
  log: BenchOptions['log'],
): Promise<HostProcess[]> {
  const started = await Promise.allSettled(roles.map((role) => startHostProcess(role, settings)));
  const hosts = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(hosts.map((h) => h.stop()));
    throw failed.reason;
  }
  log(`  started ${roles.join(', ')}`);
  return hosts;
}

/** Upstream calls per person group, over every simulator. */
function callsPerGroup(sims: readonly UpstreamSimulator[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const call of sims.flatMap((s) => s.calls)) {
    const group = TRAINING_PATH.exec(call.path)?.[1];
    if (group) out.set(group, (out.get(group) ?? 0) + 1);
  }
  return out;
}

interface StoredPolls {
  /** Polls stored (`applied`) per person group. */
  perGroup: Map<string, number>;
  byFunction: Map<string, number>;
  lostRaces: number;
}

function storedPolls(hosts: readonly HostProcess[], jobs: readonly Job[]): StoredPolls {
  const groupOf = new Map(jobs.map((j) => [j.id, j.identity['personGroupId']!]));
  const out: StoredPolls = { perGroup: new Map(), byFunction: new Map(), lostRaces: 0 };
  for (const line of hosts.flatMap((h) => functionLines(h.lines(), 'job polled'))) {
    if (line.properties['applied'] !== true) {
      out.lostRaces++;
      continue;
    }
    const group = groupOf.get(String(line.properties['jobId']));
    if (group) out.perGroup.set(group, (out.perGroup.get(group) ?? 0) + 1);
    out.byFunction.set(line.functionName, (out.byFunction.get(line.functionName) ?? 0) + 1);
  }
  return out;
}

/** Calls without a stored poll of their own: a second call of a job for the same due time. */
function duplicateCalls(calls: Map<string, number>, stored: StoredPolls): number {
  let duplicates = 0;
  for (const [group, n] of calls) duplicates += Math.max(0, n - (stored.perGroup.get(group) ?? 0));
  return duplicates;
}

// ---------------------------------------------------------------------------------------------------------------
// Fleet under budget: 2 timer hosts and 4 workers

const FLEET_RESOURCES = [
  { calls: 30, jobs: 12 },
  { calls: 60, jobs: 20 },
] as const;

async function benchFleet(standIns: StandIns, options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const runMs = quick ? 50_000 : 120_000;
  const sims: UpstreamSimulator[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    for (let r = 0; r < FLEET_RESOURCES.length; r++) {
      const sim = await startUpstreamSimulator({ keys: [KEY] });
      sims.push(sim);
      stops.push(() => sim.stop());
    }
    const jobs = sims.flatMap((sim, r) => runningGroups(sim, `fleet${r}`, FLEET_RESOURCES[r]!.jobs, 10));
    const azurite = await azuriteWith(jobs);
    stops.push(() => azurite.stop());
    const settings = appSettings(azurite, standIns, sims, (r) => `${FLEET_RESOURCES[r]!.calls}/min`, {
      POLL_SCHEDULE: '*/10 * * * * *',
      CYCLE_DEADLINE_SECONDS: '8',
      UPSTREAM_TIMEOUT_SECONDS: '3',
    });
    const workers = await startFleet(['worker', 'worker', 'worker', 'worker'], settings, log);
    stops.push(() => Promise.all(workers.map((w) => w.stop())).then(() => undefined));
    const timers = await startFleet(['timer', 'timer'], settings, log);
    stops.push(() => Promise.all(timers.map((t) => t.stop())).then(() => undefined));
    const startedAt = Date.now();
    log(`  2 timer hosts and 4 workers running for ${runMs / 1000} s`);
    await sleep(runMs);
    // Timers first (each finishes its running cycle), then the workers (each finishes the messages it holds):
    // every call made has its `job polled` line.
    await Promise.all(timers.map((t) => t.stop()));
    await Promise.all(workers.map((w) => w.stop()));
    const elapsedMs = Date.now() - startedAt;

    const hosts = [...timers, ...workers];
    const calls = callsPerGroup(sims);
    const stored = storedPolls(hosts, jobs);
    const totalCalls = [...calls.values()].reduce((a, b) => a + b, 0);
    const duplicates = duplicateCalls(calls, stored);
    const cycles = hosts.flatMap((h) => functionLines(h.lines(), 'poll cycle finished'));
    const sum = (field: string): number => cycles.reduce((n, c) => n + (Number(c.properties[field]) || 0), 0);
    const worst = sims.map((sim) => sim.maxCallsInWindow(MINUTE));
    const over = worst.reduce((n, w, r) => n + Math.max(0, w - FLEET_RESOURCES[r]!.calls), 0);
    const polledJobs = jobs.filter((j) => (calls.get(j.identity['personGroupId']!) ?? 0) > 0).length;
    const failedMessages = workers
      .flatMap((w) => w.lines())
      .filter((l) => l.includes("Executed 'pollJob' (Failed")).length;
    const budgetCalls = FLEET_RESOURCES.reduce((n, r) => n + (r.calls * elapsedMs) / MINUTE, 0);
    log(
      `  ${totalCalls} calls in ${(elapsedMs / 1000).toFixed(0)} s; stored by pollJobs ${stored.byFunction.get('pollJobs') ?? 0}, pollJob ${stored.byFunction.get('pollJob') ?? 0}`,
    );
    return [
      figure({
        benchmark: BENCH,
        name: '2 timer hosts + 4 workers: duplicate calls (same job, same due time)',
        measured: duplicates,
        unit: 'calls',
        target: { on: 'value', op: '<=', limit: 0 },
        note:
          `${totalCalls} upstream calls, ${totalCalls - duplicates} of them stored by their own poll: ` +
          `${stored.byFunction.get('pollJobs') ?? 0} by the timer hosts' cycles, ${stored.byFunction.get('pollJob') ?? 0} ` +
          `by the workers; ${stored.lostRaces} lost races; ${cycles.length} cycles handed off ${sum('handedOff')} ` +
          `and found ${sum('claimedElsewhere')} due jobs claimed by another holder; ${failedMessages} failed messages`,
      }),
      figure({
        benchmark: BENCH,
        name: 'calls over the budget in any 60 s, at the simulators',
        measured: over,
        unit: 'calls',
        target: { on: 'value', op: '<=', limit: 0 },
        note: `worst 60 s: ${worst.map((w, r) => `${w} of ${FLEET_RESOURCES[r]!.calls}/min`).join(', ')}`,
      }),
      figure({
        benchmark: BENCH,
        name: 'due jobs polled (all 32 due from the start)',
        measured: polledJobs,
        unit: 'jobs',
        baseline: { value: jobs.length, label: 'registered and due' },
        target: { on: 'ratio', op: '>=', limit: 1 },
      }),
      figure({
        benchmark: BENCH,
        name: 'budget use over the run (both resources oversubscribed)',
        measured: totalCalls,
        unit: 'calls',
        baseline: { value: budgetCalls, label: `budget × ${(elapsedMs / 1000).toFixed(0)} s` },
        note: 'no target: the run starts with process start-up and the first timer tick',
      }),
    ];
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker throughput: the same handed-off work, 1 worker vs 4

/** Per-resource budget far above what the workers can do (50 calls/s): the budget is not the limit. */
const UNBOUND_BUDGET = '180000/h';
const UPSTREAM_LATENCY_MS = 1_000;

interface WorkerRun {
  workers: number;
  calls: number;
  polledPerSecond: number;
  spanMs: number;
  duplicates: number;
  expired: number;
  /** How long the cycle took to hand every job to the queue. */
  handOffMs: number;
}

async function runWorkers(
  count: number,
  sims: readonly UpstreamSimulator[],
  jobs: readonly Job[],
  standIns: StandIns,
  log: BenchOptions['log'],
): Promise<WorkerRun> {
  for (const sim of sims) sim.resetCalls();
  const azurite = await azuriteWith(jobs);
  let hosts: HostProcess[] = [];
  try {
    const settings = appSettings(azurite, standIns, sims, () => UNBOUND_BUDGET, {
      // The timer never fires by itself (once a year): the one cycle is run through the admin endpoint.
      POLL_SCHEDULE: '0 0 0 1 1 *',
      // An empty call window (deadline − timeout − margin < 0): the cycle hands every job to the queue.
      CYCLE_DEADLINE_SECONDS: '10',
      UPSTREAM_TIMEOUT_SECONDS: '9',
    });
    hosts = await startFleet(
      ['timer', ...Array.from({ length: count }, () => 'worker' as const)],
      settings,
      log,
    );
    // Each process builds its services (SDKs, tables) before the measured work.
    await Promise.all(hosts.map((h) => fetch(`${h.url}/api/health`).then((r) => r.arrayBuffer())));
    const response = await fetch(`${hosts[0]!.url}/admin/functions/pollJobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input":""}',
    });
    if (response.status !== 202) throw new Error(`the cycle was not started (${response.status})`);
    // Until every job was called, or nothing was called for 15 s (messages past their claim are dropped).
    const total = (): number => sims.reduce((n, s) => n + s.calls.length, 0);
    const deadline = Date.now() + 180_000;
    let last = { calls: -1, at: Date.now() };
    while (total() < jobs.length && Date.now() < deadline) {
      await sleep(500);
      if (total() !== last.calls) last = { calls: total(), at: Date.now() };
      else if (Date.now() - last.at > 15_000 && total() > 0) break;
    }
    await Promise.all(hosts.map((h) => h.stop()));
    const times = sims.flatMap((s) => s.calls.map((c) => c.at.getTime())).sort((a, b) => a - b);
    const spanMs = times.length > 1 ? times.at(-1)! - times[0]! : NaN;
    const calls = callsPerGroup(sims);
    const duplicates = duplicateCalls(calls, storedPolls(hosts, jobs));
    const cycle = functionLines(hosts[0]!.lines(), 'poll cycle finished')[0]?.properties;
    const expired = hosts
      .flatMap((h) => functionLines(h.lines(), 'polls message ignored: its claim expired'))
      .filter((l) => l.functionName === 'pollJob').length;
    const run: WorkerRun = {
      workers: count,
      calls: times.length,
      // n calls over the span from the first to the last: n − 1 intervals.
      polledPerSecond: ((times.length - 1) / spanMs) * 1000,
      spanMs,
      duplicates,
      expired,
      handOffMs: Number(cycle?.['durationMs']),
    };
    log(
      `  ${count} worker(s): ${run.calls} calls in ${(spanMs / 1000).toFixed(1)} s, ${run.polledPerSecond.toFixed(1)}/s, ${expired} expired, ${duplicates} duplicates`,
    );
    return run;
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
    await azurite.stop();
  }
}

async function benchWorkerThroughput(standIns: StandIns, options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const resources = quick ? 4 : 5;
  const perResource = quick ? 20 : 30;
  const sims: UpstreamSimulator[] = [];
  try {
    for (let r = 0; r < resources; r++) {
      sims.push(await startUpstreamSimulator({ keys: [KEY], latencyMs: UPSTREAM_LATENCY_MS }));
    }
    const jobs = sims.flatMap((sim, r) => runningGroups(sim, `work${r}`, perResource, 60));
    const one = await runWorkers(1, sims, jobs, standIns, log);
    const four = await runWorkers(4, sims, jobs, standIns, log);
    const describe = (run: WorkerRun): string =>
      `${run.calls} of ${jobs.length} polled in ${(run.spanMs / 1000).toFixed(1)} s (the cycle took ${(run.handOffMs / 1000).toFixed(1)} s to hand them off)` +
      (run.expired ? ` (${run.expired} messages came past their claim and were left to the next cycle)` : '');
    return [
      figure({
        benchmark: BENCH,
        name: `workers' throughput, 4 vs 1 (${jobs.length} handed-off polls, upstream latency 1 s)`,
        measured: four.polledPerSecond,
        unit: 'polls/s',
        baseline: { value: one.polledPerSecond, label: '1 worker' },
        target: { on: 'ratio', op: '>=', limit: 1.5 },
        note: `4 workers: ${describe(four)}; 1 worker: ${describe(one)}`,
      }),
      figure({
        benchmark: BENCH,
        name: 'duplicate calls in the throughput runs',
        measured: one.duplicates + four.duplicates,
        unit: 'calls',
        target: { on: 'value', op: '<=', limit: 0 },
      }),
    ];
  } finally {
    for (const sim of sims) await sim.stop().catch(() => undefined);
  }
}

export async function benchScaleOut(options: BenchOptions): Promise<Figure[]> {
  const standIns = await startStandIns();
  try {
    options.log('  fleet under budget: 2 timer hosts, 4 workers');
    const fleet = await benchFleet(standIns, options);
    options.log('  worker throughput: 1 worker, then 4');
    const throughput = await benchWorkerThroughput(standIns, options);
    return [...fleet, ...throughput];
  } finally {
    await standIns.stop();
  }
}
