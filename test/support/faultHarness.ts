/**
 * The poller with its real dependencies, for the fault suite (test/faults): `TableJobStore` on Azurite (fresh
 * tables per harness), the real `KeyClient` over the real `SecretClient` and a managed identity to the Key Vault
 * stand-in, the real `fetchUpstream` to upstream simulators (one resource each), the real adapters. Time is a
 * `VirtualClock` shared with the simulators, so statuses progress in simulated time and budgets are measured on
 * the simulators' own call records.
 */
import { MemoryNotificationQueue } from '../../dev/memoryNotificationQueue';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/keyVaultStandIn';
import type { SimulatedRun } from '../../dev/simulator/types';
import { startUpstreamSimulator, type UpstreamSimulator } from '../../dev/upstreamSimulator';
import { jobIdOf } from '../../shared/api/registration';
import { systemClock, type Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logger';
import type { Identity, Job, JobStatus } from '../../shared/model';
import { buildServices, type ServiceOverrides, type Services } from '../../functions/buildServices';
import { loadConfig, type Config } from '../../shared/config';
import type { Poller, CycleReport, PollerDeps } from '../../shared/poller/poller';
import { KeyClient } from '../../shared/secrets';
import { createSecretClient } from '../../shared/vaultClient';
import { createTableClientFactory, TableJobStore } from '../../shared/store/tableJobStore';
import type { JobStore } from '../../shared/store/types';
import { fetchUpstream } from '../../shared/upstream/http';
import { getAdapter, listKinds } from '../../shared/upstream/registry';
import type { RateBudget } from '../../shared/upstream/types';
import { MemorySubscriptions } from './memorySubscriptions';
import { seededRandom, trackAll, VirtualClock } from '../../dev/virtualClock';

export const UPSTREAM_KEY = 'fault-suite-key-6b1d0e3f';
export const SECRET = 'fault-suite-key';
export const MINUTE = 60_000;
/** A fixed start: every run of the suite sees the same virtual times. */
export const T0 = Date.parse('2025-03-03T08:00:00.000Z');

// ---------------------------------------------------------------------------------------------------------------
// Identity: the identity library keeps its source and tokens process-wide; one endpoint per test file (process).

let identity: Promise<IdentityEndpoint> | undefined;
function identityEndpoint(): Promise<IdentityEndpoint> {
  identity ??= startIdentityEndpoint().then((endpoint) => {
    process.env.IDENTITY_ENDPOINT = endpoint.endpoint;
    process.env.IDENTITY_HEADER = endpoint.header;
    return endpoint;
  });
  return identity;
}

export async function stopIdentityEndpoint(): Promise<void> {
  const endpoint = await identity;
  identity = undefined;
  delete process.env.IDENTITY_ENDPOINT;
  delete process.env.IDENTITY_HEADER;
  await endpoint?.stop();
}

// ---------------------------------------------------------------------------------------------------------------
// Jobs and their truth

/** A job of any kind of the registry: its identity fields by name (e.g. `personGroupId`) beside the options. */
export interface JobSpec {
  sim: number;
  kind: string;
  secret?: string;
  intervalSeconds?: number;
  [identityField: string]: string | number | undefined;
}

/**
 * `count` jobs on simulator `sim`, a mix of every kind of the registry in turn, each following `run`; returns their
 * specs (ids distinct by `prefix` and index).
 */
export function addMixedJobs(
  sims: readonly UpstreamSimulator[],
  sim: number,
  count: number,
  prefix: string,
  run: SimulatedRun,
): JobSpec[] {
  const kinds = listKinds();
  const specs: JobSpec[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length]!;
    const identity = sims[sim]!.sampleIdentity(kind, `${prefix}-${i}`);
    sims[sim]!.addJob(kind, identity, run);
    specs.push({ sim, kind, ...identity });
  }
  return specs;
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  properties?: Record<string, unknown>;
}

export interface HarnessOptions {
  connectionString: string;
  simulators: number;
  /** Budget of every simulator resource (default 120/min). */
  budget?: RateBudget;
  /** Extra secrets in the vault (the default secret holds UPSTREAM_KEY). */
  secrets?: Record<string, string>;
  secretTtlMs?: number;
  /** Real clock instead of the virtual one (scenarios about real hangs). */
  realTime?: boolean;
  settings?: Partial<Config>;
  /** A table endpoint override (`http://127.0.0.1:PORT/devstoreaccount1`: a fault proxy in front of Azurite). */
  tableEndpoint?: string;
  /** Extra pipeline policies of the Table client (per retry). */
  tablePolicies?: TablePolicy[];
}

export type TablePolicy = NonNullable<
  NonNullable<Parameters<typeof createTableClientFactory>[0]['clientOptions']>['additionalPolicies']
>[number]['policy'];

export interface Harness {
  clock: VirtualClock;
  /** The clock the poller uses (the virtual one, or the system clock in real-time mode). */
  pollerClock: Clock;
  /** The store as the poller sees it (tracked on the virtual clock). */
  store: JobStore;
  rawStore: TableJobStore;
  /** The table names of this harness. */
  tables: { jobs: string; state: string };
  sims: UpstreamSimulator[];
  vault: KeyVaultStandIn;
  /** Stops the vault: it is unreachable (connection refused) until `restartVault`. */
  stopVault(): Promise<void>;
  /** Starts the vault again on the same port, with the same secrets. */
  restartVault(): Promise<void>;
  /** Authenticated reads of a secret that reached the vault, over every start of it. */
  vaultReads(name: string): number;
  keys: KeyClient;
  logs: LogEntry[];
  /** Every upstream call the poller made: virtual time, url, key. */
  upstreamCalls: { at: number; url: string; key: string | undefined }[];
  /** The upstream call the poller makes (recorded, tracked on the virtual clock); wrap it to inject behaviour. */
  fetchUpstream: PollerDeps['fetchUpstream'];
  budget: RateBudget;
  settings: Config;
  /** Services of their own (another host), built through the composition root with the harness's parts. */
  newServices(overrides?: ServiceOverrides): Services;
  /** `newServices(overrides).poller`. */
  newPoller(overrides?: ServiceOverrides): Poller;
  register(specs: readonly JobSpec[]): Promise<Job[]>;
  /**
   * `count` Face person groups `{prefix}-{i}` on simulator 0, training since a minute before now (for
   * `trainingMs`, default an hour), registered as `POST /api/jobs` would.
   */
  registerTrainingGroups(prefix: string, count: number, options?: { trainingMs?: number }): Promise<Job[]>;
  resourceOf(sim: number): string;
  /** Runs one cycle at virtual time `at` (ms). */
  cycleAt(at: number, poller?: Poller, options?: { abortSignal?: AbortSignal }): Promise<CycleReport>;
  stop(): Promise<void>;
}

export function jobOf(spec: JobSpec, origin: string, createdAt: Date): Job {
  const adapter = getAdapter(spec.kind)!;
  const identity: Identity = Object.fromEntries(
    adapter.identityFields.map((field) => [field, String(spec[field] ?? '')]),
  );
  const iso = createdAt.toISOString();
  return {
    id: jobIdOf(spec.kind, origin, identity, adapter),
    kind: spec.kind,
    endpoint: origin,
    keySecretName: spec.secret ?? SECRET,
    apiVersion: adapter.defaultApiVersion,
    pollIntervalSeconds: spec.intervalSeconds ?? 60,
    identity,
    createdAt: iso,
    state: {
      status: 'pending',
      upstreamStatus: null,
      upstream: null,
      checkedAt: null,
      changedAt: iso,
      nextCheckAt: iso,
      lastError: null,
      consecutiveFailures: 0,
    },
  };
}

function letters(n: number): string {
  return Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const clock = new VirtualClock(T0);
  const realTime = options.realTime === true;
  const pollerClock: Clock = realTime ? systemClock : clock;
  const simNow = realTime ? (): Date => new Date() : (): Date => clock.now();
  const idp = await identityEndpoint();
  const sims: UpstreamSimulator[] = [];
  for (let i = 0; i < options.simulators; i++)
    sims.push(await startUpstreamSimulator({ keys: [UPSTREAM_KEY], now: simNow }));
  const vaultOptions = {
    secrets: { [SECRET]: UPSTREAM_KEY, ...options.secrets },
    validateToken: (token: string) => idp.isValidToken(token),
    tenantId: idp.tenantId,
  };
  let vault = await startKeyVault(vaultOptions);
  const vaultPort = Number(new URL(vault.url).port);
  const retiredReads = new Map<string, number>();
  let vaultStopped = false;
  const suffix = letters(10);
  const connectionString =
    options.tableEndpoint === undefined
      ? options.connectionString
      : options.connectionString.replace(/TableEndpoint=[^;]+/, `TableEndpoint=${options.tableEndpoint}`);
  const rawStore = new TableJobStore({
    tableClient: createTableClientFactory({
      connectionString,
      // The SDK's retry policy (3 retries) with short real-time delays: faults cost milliseconds, not seconds.
      clientOptions: {
        retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 40 },
        additionalPolicies: (options.tablePolicies ?? []).map((policy) => ({
          policy,
          position: 'perRetry' as const,
        })),
      },
    }),
    tables: { jobs: `faultjobs${suffix}`, state: `faultstate${suffix}` },
  });
  const tables = { jobs: `faultjobs${suffix}`, state: `faultstate${suffix}` };
  await rawStore.initialize();
  const store: JobStore = realTime ? rawStore : trackAll<JobStore>(rawStore, clock);
  const secretReader = createSecretClient({ vaultUrl: vault.url, useManagedIdentity: true });
  const keyClient = new KeyClient(secretReader, {
    ttlMs: options.secretTtlMs ?? 5 * MINUTE,
    clock: pollerClock,
    readTimeoutMs: 2_000,
  });
  const keys = realTime ? keyClient : trackAll(keyClient, clock);
  const budget = options.budget ?? { calls: 120, periodMs: MINUTE };
  const resourceOf = (i: number): string => new URL(sims[i]!.origin).host;
  const settings: Config = {
    ...loadConfig({
      AzureWebJobsStorage: connectionString,
      KEY_VAULT_URL: vault.url,
      IDENTITY_ENDPOINT: idp.endpoint,
    }),
    allowedUpstreamOrigins: sims.map((s) => s.origin),
    rateLimits: new Map(sims.map((_, i) => [resourceOf(i), budget])),
    upstreamTimeoutMs: 10_000,
    cycleDeadlineMs: 50_000,
    cycleMaxJobs: 10_000,
    idleIntervalMs: 15 * MINUTE,
    ...options.settings,
  };
  const logs: LogEntry[] = [];
  const logger: Logger = {
    info: (message, properties) =>
      logs.push({ level: 'info', message, ...(properties ? { properties } : {}) }),
    warn: (message, properties) =>
      logs.push({ level: 'warn', message, ...(properties ? { properties } : {}) }),
    error: (message, properties) =>
      logs.push({ level: 'error', message, ...(properties ? { properties } : {}) }),
  };
  const upstreamCalls: Harness['upstreamCalls'] = [];
  const fetcher: PollerDeps['fetchUpstream'] = (url, o) => {
    const key = Object.values(o.headers)[0];
    upstreamCalls.push({ at: pollerClock.now().getTime(), url, key });
    const call = fetchUpstream(url, o);
    return realTime ? call : clock.track(call);
  };
  const random = seededRandom(0x5eed);
  const newServices = (overrides: ServiceOverrides = {}): Services =>
    buildServices(settings, {
      store,
      keys,
      fetchUpstream: fetcher,
      clock: pollerClock,
      random,
      logger,
      // Cycles hand jobs off only to a queue a test passes (the fault scenarios without one keep their window).
      handOff: overrides.pollQueue !== undefined,
      // Transitions go to an in-memory notifications queue nobody reads, and the look for subscriptions to an
      // in-memory store (no untracked queue or table I/O on the clock).
      notifications: {
        queue: new MemoryNotificationQueue(pollerClock),
        subscriptions: new MemorySubscriptions(),
      },
      ...overrides,
    });
  const newPoller = (overrides: ServiceOverrides = {}): Poller => newServices(overrides).poller;

  const harness: Harness = {
    clock,
    pollerClock,
    store,
    rawStore,
    tables,
    sims,
    vault,
    stopVault: async () => {
      for (const [name, n] of vault.reads) retiredReads.set(name, (retiredReads.get(name) ?? 0) + n);
      vaultStopped = true;
      await vault.stop();
    },
    restartVault: async () => {
      vault = await startKeyVault({ ...vaultOptions, port: vaultPort });
      harness.vault = vault;
      vaultStopped = false;
    },
    vaultReads: (name) => (retiredReads.get(name) ?? 0) + (vaultStopped ? 0 : (vault.reads.get(name) ?? 0)),
    keys: keyClient,
    logs,
    upstreamCalls,
    fetchUpstream: fetcher,
    budget,
    settings,
    newServices,
    newPoller,
    resourceOf,
    register: async (specs) => {
      const jobs = specs.map((spec) => jobOf(spec, sims[spec.sim]!.origin, pollerClock.now()));
      for (let i = 0; i < jobs.length; i += 25)
        await Promise.all(jobs.slice(i, i + 25).map((job) => rawStore.register(job)));
      return jobs;
    },
    registerTrainingGroups: (prefix, count, groupOptions = {}) => {
      const since = new Date(pollerClock.now().getTime() - MINUTE);
      const durationMs = groupOptions.trainingMs ?? 60 * MINUTE;
      const specs: JobSpec[] = [];
      for (let i = 0; i < count; i++) {
        sims[0]!.addFaceGroup(`${prefix}-${i}`, {
          createdAt: since,
          trainings: [{ startAt: since, durationMs, outcome: 'succeeded' }],
        });
        specs.push({ sim: 0, kind: 'face.personGroup', personGroupId: `${prefix}-${i}` });
      }
      return harness.register(specs);
    },
    cycleAt: async (at, poller, cycleOptions) => {
      if (!realTime) clock.set(at);
      return (poller ?? newPoller()).runCycle(cycleOptions);
    },
    stop: async () => {
      for (const sim of sims) await sim.stop();
      if (!vaultStopped) await vault.stop();
    },
  };
  return harness;
}

// ---------------------------------------------------------------------------------------------------------------
// Simulated truth: what the simulator answers for a timeline at a time, normalized as the adapters do.

export interface FaceTimeline {
  queuedAt: number;
  startAt: number;
  endAt: number;
  outcome: 'succeeded' | 'failed';
}
export interface LanguageTimeline {
  startAt: number;
  endAt: number;
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'partiallyCompleted';
}

export function faceTruth(t: FaceTimeline, at: number): JobStatus {
  if (at < t.startAt) return 'notStarted'; // never trained (404 PersonGroupNotTrained) or queued
  if (at < t.endAt) return 'running';
  return t.outcome;
}

export function languageTruth(t: LanguageTimeline, at: number): JobStatus {
  if (at < t.startAt) return 'notStarted';
  if (at < t.endAt) return 'running';
  return t.outcome;
}

// ---------------------------------------------------------------------------------------------------------------
// Figures: every test prints its measured figures and writes them to test-results/reliability/{scenario}.json

export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  const text = JSON.stringify({ scenario, ...figures });
  console.log(`[reliability] ${text}`);
  const dir = path.join(__dirname, '..', '..', 'test-results', 'reliability');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${scenario}.json`), `${JSON.stringify({ scenario, ...figures }, null, 2)}\n`);
}

/** Calls per window of `periodMs` (aligned on T0), per simulator. */
export function callsPerWindow(sim: UpstreamSimulator, periodMs: number, from: number, to: number): number[] {
  const buckets = new Array<number>(Math.ceil((to - from) / periodMs)).fill(0);
  for (const call of sim.calls) {
    const at = call.at.getTime();
    if (at < from || at >= to) continue;
    const index = Math.floor((at - from) / periodMs);
    buckets[index] = (buckets[index] ?? 0) + 1;
  }
  return buckets;
}
