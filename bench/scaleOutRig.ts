/**
 * Benchmark 9's rig: the Key Vault and identity stand-ins, running Face person groups on simulators, a fresh Azurite
 * with the jobs registered, the app's settings over them, a fleet of host processes, and the counts the figures are
 * made of (calls per person group at the simulators, polls stored per group in the processes' log lines).
 */
import { startAzurite, type AzuriteInstance } from '../dev/azurite';
import { startIdentityEndpoint, type IdentityEndpoint } from '../dev/identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from '../dev/keyVaultStandIn';
import type { UpstreamSimulator } from '../dev/upstreamSimulator';
import type { HostRole } from '../dev/roles';
import type { Job } from '../shared/model';
import { createTableClientFactory, TableJobStore } from '../shared/store/tableJobStore';
import { newJob, seedJobs, type BenchOptions } from './common';
import { functionLines, startHostProcess, type HostProcess } from './scaleOutProcesses';

export const BENCH = '9 scale-out';
export const KEY = 'bench-scale-out-key-5c1e';
const SECRET = 'scale-out-key';
export const MINUTE = 60_000;
const TRAINING_PATH = /persongroups\/([^/]+)\/training/i;

export interface StandIns {
  identity: IdentityEndpoint;
  vault: KeyVaultStandIn;
  stop(): Promise<void>;
}

export async function startStandIns(): Promise<StandIns> {
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
export function runningGroups(
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
export async function azuriteWith(jobs: readonly Job[]): Promise<AzuriteInstance> {
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

export function appSettings(
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

export async function startFleet(
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
export function callsPerGroup(sims: readonly UpstreamSimulator[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const call of sims.flatMap((s) => s.calls)) {
    const group = TRAINING_PATH.exec(call.path)?.[1];
    if (group) out.set(group, (out.get(group) ?? 0) + 1);
  }
  return out;
}

export interface StoredPolls {
  /** Polls stored (`applied`) per person group. */
  perGroup: Map<string, number>;
  byFunction: Map<string, number>;
  lostRaces: number;
}

export function storedPolls(hosts: readonly HostProcess[], jobs: readonly Job[]): StoredPolls {
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
export function duplicateCalls(calls: Map<string, number>, stored: StoredPolls): number {
  let duplicates = 0;
  for (const [group, n] of calls) duplicates += Math.max(0, n - (stored.perGroup.get(group) ?? 0));
  return duplicates;
}
