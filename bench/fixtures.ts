/** Training jobs on simulators, and a Poller wired for benchmarks. */
import type { Clock } from '../shared/clock';
import { silentLogger } from '../shared/logger';
import type { Job } from '../shared/model';
import { Poller, type FetchUpstream, type KeyProvider } from '../shared/poller/poller';
import type { JobStore } from '../shared/store/types';
import { fetchUpstream } from '../shared/upstream/http';
import { getAdapter, listKinds } from '../shared/upstream/registry';
import type { UpstreamSimulator } from '../dev/upstreamSimulator';
import { newJob } from './common';

/**
 * `count` training jobs on `sim`, a mix of every kind of the registry in turn, all running from `now - 5 min` for
 * `runningMs`, then succeeding. Returns the jobs as registration builds them.
 */
export function addTrainingJobs(
  sim: Pick<UpstreamSimulator, 'origin' | 'addJob' | 'sampleIdentity'>,
  options: {
    count: number;
    now: Date;
    runningMs: number;
    keySecretName: string;
    /** Distinguishes the names of several sets on one simulator. */
    prefix?: string;
    pollIntervalSeconds?: number;
  },
): Job[] {
  const { count, now, runningMs, keySecretName, prefix = 'b' } = options;
  const kinds = listKinds();
  const createdAt = new Date(now.getTime() - 3_600_000);
  const startAt = new Date(now.getTime() - 300_000);
  const jobs: Job[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length]!;
    const identity = sim.sampleIdentity(kind, `${prefix}-${i}`);
    sim.addJob(kind, identity, { createdAt, startAt, durationMs: runningMs + 300_000, outcome: 'succeeded' });
    jobs.push(newJob(kind, identity, sim.origin, keySecretName, now, options.pollIntervalSeconds));
  }
  return jobs;
}

/** A Poller as functions/services.ts builds it, with a given key provider, clock and settings. */
export function benchPoller(
  store: JobStore,
  keys: KeyProvider,
  clock: Clock,
  settings: {
    allowedUpstreamOrigins: string[];
    rateLimits: Map<string, { calls: number; periodMs: number }>;
    cycleDeadlineMs?: number;
    cycleMaxJobs?: number;
    fetchUpstream?: FetchUpstream;
  },
): Poller {
  return new Poller({
    store,
    keys,
    getAdapter,
    fetchUpstream: settings.fetchUpstream ?? fetchUpstream,
    clock,
    random: Math.random,
    logger: silentLogger,
    settings: {
      allowedUpstreamOrigins: settings.allowedUpstreamOrigins,
      rateLimits: settings.rateLimits,
      upstreamTimeoutMs: 10_000,
      cycleDeadlineMs: settings.cycleDeadlineMs ?? 300_000,
      cycleMaxJobs: settings.cycleMaxJobs ?? 1_000_000,
      idleIntervalMs: 900_000,
    },
  });
}

/** A key provider that always has the key (no vault): for benchmarks that do not measure secrets. */
export function fixedKey(key: string): KeyProvider {
  return { getKey: () => Promise.resolve(key) };
}
