/**
 * Benchmark worker: the function app's services (functions/services.ts, from the settings it is given) in a fresh
 * process, running one poll cycle on command with the real clock, so peak memory is the app's own.
 * Commands: `seed` (in-memory tables only), `dueSet`, `tableRequests`, `cycle`.
 */
import { buildServices } from '../functions/buildServices';
import { getConfig, getServices } from '../functions/services';
import type { CycleReport } from '../shared/poller/poller';
import { sampleIdentityOf } from '../dev/simulator/registry';
import { seedJobs, serviceMain } from './common';
import { addTrainingJobs } from './fixtures';
import { memoryTables } from '../dev/memoryTables';

export interface CycleWorkerInput {
  /** Keep the tables in this process (dev/memoryTables.ts) instead of the storage the settings name. */
  memoryTables?: boolean;
}

/** What `seed` builds: the same jobs the parent put on its simulators (same `now` and prefix). */
export interface SeedSpec {
  now: string;
  prefix: string;
  resources: { origin: string; keySecretName: string; count: number }[];
}

export interface CycleRun {
  report: CycleReport;
  durationMs: number;
  /** Peak resident set size of this process so far (bytes), from the OS. */
  maxRssBytes: number;
  /** Highest RSS sampled every 20 ms during the cycle (bytes). */
  sampledPeakRssBytes: number;
  /** RSS just before the cycle (bytes). */
  rssBeforeBytes: number;
  /** CPU time of this process during the cycle (µs). */
  cpuUs: number;
}

serviceMain(async (input: CycleWorkerInput) => {
  const tables = input.memoryTables ? memoryTables() : undefined;
  const services = tables ? buildServices(getConfig(), { tableClient: tables.factory }) : await getServices();
  if (tables) await services.store.initialize();
  const gc = (): void => {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (!collect) throw new Error('run the worker with --expose-gc');
    collect();
  };
  /** Collects once the async calls have unwound (a just-finished await chain still holds its values). */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      gc();
    }
  };
  return {
    ready: {},
    commands: {
      /** Registers the jobs into the in-memory tables (not measured); answers the live heap after. */
      seed: async (spec: unknown): Promise<{ jobs: number; heapBytes: number }> => {
        const { now, prefix, resources } = spec as SeedSpec;
        const stub = { addJob: () => undefined, sampleIdentity: sampleIdentityOf };
        const jobs = resources.flatMap((r) =>
          addTrainingJobs(
            { ...stub, origin: r.origin },
            {
              count: r.count,
              now: new Date(now),
              runningMs: 3_600_000,
              keySecretName: r.keySecretName,
              prefix,
            },
          ),
        );
        await seedJobs(services.store, jobs, 64);
        let heapBytes = NaN;
        if ((globalThis as { gc?: () => void }).gc) {
          await settle();
          heapBytes = process.memoryUsage().heapUsed;
        }
        return { jobs: jobs.length, heapBytes };
      },
      /** Table requests so far (in-memory tables only). */
      tableRequests: (): number => tables?.requests() ?? NaN,
      /**
       * The live memory of the due set (what a cycle holds for all its jobs): heap after a full GC with the due
       * handles held, less before. Needs --expose-gc. Reads the due index twice (outside any counted cycle).
       */
      dueSet: async (): Promise<{ count: number; bytes: number }> => {
        const limit = services.config.cycleMaxJobs;
        // A first read warms what is allocated once (compiled code, SDK internals), so only the set is counted.
        await services.store.listDue(new Date(), { limit });
        await settle();
        const before = process.memoryUsage().heapUsed;
        const due = await services.store.listDue(new Date(), { limit });
        await settle();
        const bytes = process.memoryUsage().heapUsed - before;
        return { count: due.length, bytes };
      },
      cycle: async (): Promise<CycleRun> => {
        const rssBeforeBytes = process.memoryUsage.rss();
        let sampledPeakRssBytes = rssBeforeBytes;
        const sampler = setInterval(() => {
          sampledPeakRssBytes = Math.max(sampledPeakRssBytes, process.memoryUsage.rss());
        }, 20);
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        try {
          const report = await services.poller.runCycle();
          const durationMs = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          sampledPeakRssBytes = Math.max(sampledPeakRssBytes, process.memoryUsage.rss());
          return {
            report,
            durationMs,
            maxRssBytes: process.resourceUsage().maxRSS * 1024,
            sampledPeakRssBytes,
            rssBeforeBytes,
            cpuUs: cpu.user + cpu.system,
          };
        } finally {
          clearInterval(sampler);
        }
      },
    },
    stop: () => Promise.resolve(),
  };
});
