/**
 * Benchmark 3 — upstream calls saved. A apps read the status of their job every 5 s for 10 simulated minutes
 * through the cache (the real status handler over Azurite, the real poller on a schedule of every 10 s), against
 * the same apps polling the upstream simulators directly at the same instants. Time is simulated
 * (dev/virtualClock.ts, advanced by this driver): the poller's budget slots and the simulators' training progress
 * follow it, and every read and every call is a real request. Jobs keep running for the whole window (the worst case for the cache:
 * a job that ends stops being polled).
 */
import http from 'node:http';
import { startAzurite } from '../dev/azurite';
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import type { Job } from '../shared/model';
import type { CycleReport } from '../shared/poller/poller';
import { createTableClientFactory, TableJobStore } from '../shared/store/tableJobStore';
import { fetchUpstream } from '../shared/upstream/http';
import { getAdapter } from '../shared/upstream/registry';
import { figure, seedJobs, type BenchOptions, type Figure } from './common';
import { addTrainingJobs, benchServices, fixedKey, rateLimitsOf } from './fixtures';
import { trackAll, VirtualClock } from '../dev/virtualClock';

const BENCH = '3 upstream calls saved';
const KEY = 'bench-saved-key';
const READ_EVERY_MS = 5_000;
const CYCLE_EVERY_MS = 10_000;
const WINDOW_MS = 10 * 60_000;
/** Per-resource budget of the cache's poller: the Language authoring default (docs/spec.md §1). */
const BUDGET_CALLS_PER_MINUTE = 100;

export async function benchUpstreamSaved(options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const apps = quick ? 30 : 1_000;
  const jobCount = quick ? 3 : 100;
  const resources = quick ? 1 : 10;
  const start = Math.floor(Date.now() / 60_000) * 60_000;
  const clock = new VirtualClock(start, { advance: 'manual' });
  const azurite = await startAzurite();
  const stops: (() => Promise<void>)[] = [() => azurite.stop()];
  try {
    const tableClient = createTableClientFactory({ connectionString: azurite.connectionString });
    const store = trackAll(new TableJobStore({ tableClient }), clock);
    await store.initialize();
    // The cache's world and the direct-polling world: the same jobs on twin simulators, on the same clock.
    const cached: UpstreamSimulator[] = [];
    const direct: UpstreamSimulator[] = [];
    const jobs: Job[] = [];
    const directJobs: Job[] = [];
    for (let r = 0; r < resources; r++) {
      const sim = await startUpstreamSimulator({ keys: [KEY], now: () => clock.now() });
      const twin = await startUpstreamSimulator({ keys: [KEY], now: () => clock.now() });
      cached.push(sim);
      direct.push(twin);
      stops.push(
        () => sim.stop(),
        () => twin.stop(),
      );
      const spec = {
        count: jobCount / resources,
        now: clock.now(),
        runningMs: 3_600_000,
        keySecretName: KEY,
        prefix: `r${r}`,
      };
      jobs.push(...addTrainingJobs(sim, spec));
      directJobs.push(...addTrainingJobs(twin, spec));
    }
    await seedJobs(store, jobs);
    const { poller, api } = benchServices(
      {
        ALLOWED_UPSTREAM_HOSTS: cached.map((s) => s.origin).join(','),
        UPSTREAM_RATE_LIMITS: rateLimitsOf(cached, `${BUDGET_CALLS_PER_MINUTE}/min`),
        CYCLE_DEADLINE_SECONDS: '50',
      },
      {
        store,
        tableClient,
        keys: fixedKey(KEY),
        clock,
        fetchUpstream: (url, o) => clock.track(fetchUpstream(url, o)),
      },
    );
    const directUrls = directJobs.map((job) =>
      getAdapter(job.kind)!.buildUrl(job.endpoint, job.identity, job.apiVersion),
    );
    const keyHeaders = directJobs.map((job) => ({ [getAdapter(job.kind)!.keyHeader]: KEY }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    stops.unshift(() => Promise.resolve(agent.destroy()));

    let reads = 0;
    let readErrors = 0;
    let directErrors = 0;
    let cycles = 0;
    let running: Promise<CycleReport> | undefined;
    const ticks = WINDOW_MS / READ_EVERY_MS;
    for (let tick = 0; tick < ticks; tick++) {
      const at = start + tick * READ_EVERY_MS;
      await clock.runUntil(at);
      if ((at - start) % CYCLE_EVERY_MS === 0 && running === undefined) {
        cycles++;
        running = poller.runCycle().finally(() => {
          running = undefined;
        });
      }
      // Every app reads its job's status through the cache…
      await forEachLimit(apps, 64, async (app) => {
        const response = await api.getStatus(jobs[app % jobCount]!.id, null);
        reads++;
        if (response.status !== 200) readErrors++;
      });
      // …and, in the other world, polls the upstream itself.
      await forEachLimit(apps, 64, async (app) => {
        const status = await httpGet(agent, directUrls[app % jobCount]!, keyHeaders[app % jobCount]!);
        if (status !== 200) directErrors++;
      });
      if (tick % 24 === 23) log(`    ${((at - start) / 60_000 + 5 / 60).toFixed(0)} simulated minutes`);
    }
    await clock.runUntil(start + WINDOW_MS);
    while (running !== undefined) await clock.runUntil(clock.nowMs() + 1_000);

    const cachedCalls = cached.reduce((n, s) => n + s.calls.length, 0);
    const directCalls = direct.reduce((n, s) => n + s.calls.length, 0);
    const perResourcePerMinute = (directCalls / resources / WINDOW_MS) * 60_000;
    const refusedShare = Math.max(0, 1 - BUDGET_CALLS_PER_MINUTE / perResourcePerMinute);
    return [
      figure({
        benchmark: BENCH,
        name: `${apps} apps × 10 min over ${jobCount} jobs: upstream calls via the cache`,
        measured: cachedCalls,
        unit: 'calls',
        baseline: { value: directCalls, label: 'apps polling directly' },
        ratio: directCalls / Math.max(1, cachedCalls),
        target: { on: 'ratio', op: '>=', limit: 100 },
        note:
          `ratio = calls saved (direct ÷ cached); ${reads} status reads served by the cache (${readErrors} not 200), ` +
          `${cycles} poll cycles, ${(cachedCalls / jobCount).toFixed(1)} upstream calls per job; ` +
          `direct polling: ${perResourcePerMinute.toFixed(0)} calls/min per resource against a budget of ` +
          `${BUDGET_CALLS_PER_MINUTE}/min, so ${(refusedShare * 100).toFixed(0)} % of them would be refused with 429` +
          (directErrors > 0 ? `; ${directErrors} direct calls not 200` : ''),
      }),
    ];
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}

async function forEachLimit(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

function httpGet(agent: http.Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
}
