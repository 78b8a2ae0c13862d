/**
 * Benchmark 7 — long-poll Table reads. W waiters loop on `GET /api/jobs/{id}/status` with `Prefer: wait=200` and
 * the ETag of their last answer, spread over J jobs that the poller polls every 10 s (POLL_SCHEDULE every 10 s,
 * job interval 10 s), for 10 simulated minutes. The Table reads of the process that serves the waiters are
 * counted (the status route's own read of each request and the waiters' reads), once with the waiters in another
 * process than the poller (they read on their schedule) and once in the poller's process (woken by it). Time is
 * simulated (dev/virtualClock.ts, advanced by this driver); the tables are in memory (dev/memoryTables.ts), the
 * upstream is the simulator over HTTP. The figure: reads per waiter per minute ÷ polls of its job per minute.
 */
import { memoryTables } from '../dev/memoryTables';
import { startUpstreamSimulator } from '../dev/upstreamSimulator';
import { trackAll, VirtualClock } from '../dev/virtualClock';
import type { Services } from '../functions/buildServices';
import type { CycleReport } from '../shared/poller/poller';
import { TableJobStore } from '../shared/store/tableJobStore';
import type { JobStore } from '../shared/store/types';
import { fetchUpstream } from '../shared/upstream/http';
import { figure, seedJobs, type BenchOptions, type Figure } from './common';
import { addTrainingJobs, benchServices, fixedKey, rateLimitsOf } from './fixtures';

const BENCH = '7 long-poll reads';
const KEY = 'bench-long-poll-key';
const CYCLE_EVERY_MS = 10_000;
const WINDOW_MS = 10 * 60_000;

export async function benchLongPoll(options: BenchOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const where of ['other', 'same'] as const) {
    const run = await measure(where, options);
    const pollsPerMinute = (run.polls / run.jobs / WINDOW_MS) * 60_000;
    const readsPerMinute = (run.reads / run.waiters / WINDOW_MS) * 60_000;
    figures.push(
      figure({
        benchmark: BENCH,
        name: `${run.waiters} waiters on ${run.jobs} jobs, ${where === 'other' ? 'another process than the poller' : "the poller's process"}: Table reads per waiter per minute`,
        measured: readsPerMinute,
        unit: 'reads/min',
        baseline: { value: pollsPerMinute, label: 'polls of the job per minute' },
        target: { on: 'ratio', op: '<=', limit: 2 },
        note:
          `ratio = reads per poll of the job per waiter; ${run.answers} answers (${run.changed} of them 200), ` +
          `${run.polls} polls stored in ${run.cycles} cycles; a waiter looping with short polls every 5 s would ` +
          `read 12 times a minute`,
      }),
    );
  }
  return figures;
}

interface Run {
  waiters: number;
  jobs: number;
  reads: number;
  polls: number;
  cycles: number;
  answers: number;
  changed: number;
}

async function measure(where: 'other' | 'same', { quick, log }: BenchOptions): Promise<Run> {
  const waiters = quick ? 100 : 1_000;
  const jobCount = quick ? 10 : 100;
  const start = Math.ceil(Date.now() / 60_000) * 60_000;
  const end = start + WINDOW_MS;
  const clock = new VirtualClock(start, { advance: 'manual' });
  const sim = await startUpstreamSimulator({ keys: [KEY], now: () => clock.now() });
  try {
    const tables = memoryTables();
    const counter = { reads: 0 };
    const settings = {
      ALLOWED_UPSTREAM_HOSTS: sim.origin,
      UPSTREAM_RATE_LIMITS: rateLimitsOf([sim], '6000/min'),
      POLL_SCHEDULE: '*/10 * * * * *',
      CYCLE_DEADLINE_SECONDS: '9',
      UPSTREAM_TIMEOUT_SECONDS: '5',
    };
    const storeOf = (): JobStore => trackAll(new TableJobStore({ tableClient: tables.factory }), clock);
    const overrides = {
      tableClient: tables.factory,
      keys: fixedKey(KEY),
      clock,
      fetchUpstream: (url: string, o: Parameters<typeof fetchUpstream>[1]) =>
        clock.track(fetchUpstream(url, o)),
    };
    const pollerServices = benchServices(settings, { ...overrides, store: storeOf() });
    const servingStore = countingReads(where === 'same' ? pollerServices.store : storeOf(), counter);
    const serving: Services = benchServices(settings, { ...overrides, store: servingStore });
    // The same process: one composition, so the poller's notifier wakes the waiters.
    const poller = where === 'same' ? serving.poller : pollerServices.poller;
    await pollerServices.store.initialize();
    const jobs = addTrainingJobs(sim, {
      count: jobCount,
      now: clock.now(),
      runningMs: 3_600_000,
      keySecretName: KEY,
      pollIntervalSeconds: 10,
    });
    await seedJobs(pollerServices.store, jobs);

    let polls = 0;
    let cycles = 0;
    let running: Promise<CycleReport> | undefined;
    const runCycle = (): void => {
      cycles++;
      running = poller.runCycle().then((report) => {
        polls += report.polled;
        running = undefined;
        return report;
      });
    };
    runCycle(); // every job polled once before the waiters start
    await clock.runUntil(start + 1);
    while (running !== undefined) await clock.runUntil(clock.nowMs() + 100);
    polls = 0;
    cycles = 0;

    let answers = 0;
    let changed = 0;
    const client = async (i: number): Promise<void> => {
      const id = jobs[i % jobCount]!.id;
      const headersOf = (r: { headers?: unknown }): Record<string, string> =>
        r.headers as Record<string, string>;
      let current = headersOf(await serving.api.getStatus(id, null)).etag!;
      while (clock.nowMs() < end) {
        const response = await serving.api.getStatus(id, current, { prefer: 'wait=200' });
        answers++;
        if (response.status === 200) changed++;
        current = headersOf(response).etag!;
      }
    };
    counter.reads = 0;
    const clients = Promise.all(Array.from({ length: waiters }, (_, i) => client(i)));
    for (let at = start + CYCLE_EVERY_MS; at < end; at += CYCLE_EVERY_MS) {
      await clock.runUntil(at);
      if (running === undefined) runCycle();
      if ((at - start) % 120_000 === 0) log(`    ${where}: ${(at - start) / 60_000} simulated minutes`);
    }
    await clock.runUntil(end);
    const reads = counter.reads;
    // Let every waiter end (no more cycles: they answer 304 at their deadline).
    await clock.runUntil(end + 201_000);
    await clients;
    return { waiters, jobs: jobCount, reads, polls, cycles, answers, changed };
  } finally {
    await sim.stop();
  }
}

/** The store of the serving process, counting its point reads of jobs. */
function countingReads(store: JobStore, counter: { reads: number }): JobStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'getStatus' || property === 'getForPoll' || property === 'get') counter.reads++;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
