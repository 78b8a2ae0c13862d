/** Training jobs on simulators, and the app's services wired for benchmarks. */
import { buildServices, type ServiceOverrides, type Services } from '../functions/buildServices';
import { loadConfig } from '../shared/config';
import type { Job } from '../shared/model';
import type { KeyProvider } from '../shared/poller/poller';
import { listKinds } from '../shared/upstream/registry';
import { startAzurite, type AzuriteInstance } from '../dev/azurite';
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import {
  createTableClientFactory,
  TableJobStore,
  type TableClientFactory,
} from '../shared/store/tableJobStore';
import { newJob, seedJobs } from './common';

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

/**
 * The app's services for a benchmark, built by the composition root as in the app: `settings` are app settings
 * (parsed by loadConfig; storage and vault default to placeholders, for benchmarks that replace both), `overrides`
 * the parts the benchmark replaces (a store, a key provider, a clock, a fetch).
 */
export function benchServices(settings: Record<string, string>, overrides: ServiceOverrides = {}): Services {
  const config = loadConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    KEY_VAULT_URL: 'https://bench-unused.vault.azure.net',
    CYCLE_DEADLINE_SECONDS: '300',
    CYCLE_MAX_JOBS: '1000000',
    ...settings,
  });
  return buildServices(config, overrides);
}

/** `UPSTREAM_RATE_LIMITS` for simulators with one budget each. */
export function rateLimitsOf(sims: readonly { origin: string }[], budget: string): string {
  return sims.map((s) => `${new URL(s.origin).host}=${budget}`).join(',');
}

/** A key provider that always has the key (no vault): for benchmarks that do not measure secrets. */
export function fixedKey(key: string): KeyProvider {
  return { getKey: () => Promise.resolve(key) };
}

/** Azurite and one simulator holding `count` training jobs with real statuses, for the read benchmarks. */
export interface PolledJobs {
  azurite: AzuriteInstance;
  sim: UpstreamSimulator;
  /** Table clients on that Azurite. */
  factory: TableClientFactory;
  jobs: Job[];
  /** The app's settings over them (the vault is not contacted: a status read needs no key). */
  appSettings: Record<string, string>;
  stop: () => Promise<void>;
}

/** Starts Azurite and a simulator, registers `count` training jobs (key `keySecretName`) and polls each once. */
export async function startPolledJobs(count: number, keySecretName: string): Promise<PolledJobs> {
  const azurite = await startAzurite();
  const sim = await startUpstreamSimulator({ keys: [keySecretName] });
  const stop = async (): Promise<void> => {
    await sim.stop().catch(() => undefined);
    await azurite.stop().catch(() => undefined);
  };
  try {
    const factory = createTableClientFactory({ connectionString: azurite.connectionString });
    const store = new TableJobStore({ tableClient: factory });
    await store.initialize();
    const jobs = addTrainingJobs(sim, { count, now: new Date(), runningMs: 3_600_000, keySecretName });
    await seedJobs(store, jobs);
    const seeded = await benchServices(
      { ALLOWED_UPSTREAM_HOSTS: sim.origin, UPSTREAM_RATE_LIMITS: rateLimitsOf([sim], '1000000/s') },
      { store, tableClient: factory, keys: fixedKey(keySecretName) },
    ).poller.runCycle();
    if (seeded.polled !== count) throw new Error(`seeding poll: ${seeded.polled} of ${count} polled`);
    const appSettings = {
      AzureWebJobsStorage: azurite.connectionString,
      KEY_VAULT_URL: 'https://bench-unused.vault.azure.net',
      ALLOWED_UPSTREAM_HOSTS: sim.origin,
      UPSTREAM_RATE_LIMITS: `${new URL(sim.origin).host}=10/s`,
    };
    return { azurite, sim, factory, jobs, appSettings, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
