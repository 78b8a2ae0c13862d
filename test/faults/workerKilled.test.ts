/**
 * A queue worker killed mid-message (docs/spec.md §5): a real worker process (`node dist/dev/start.js --role
 * worker`) takes the handed-off `polls` messages and is killed with SIGKILL while its first upstream call hangs.
 * Nothing of that call is stored; the messages it held show again when their lease runs out, and another worker
 * takes them: a message whose claim still holds is polled then, one whose claim has expired does nothing and its
 * job, due again, is polled by the next cycle. Either way the job is polled exactly once more and nothing is lost.
 *
 * Its own Azurite: the app's processes use the app's table and queue names.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from '../../functions/buildServices';
import { startAzurite, type AzuriteInstance } from '../../dev/azurite';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/identityStandIn';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/keyVaultStandIn';
import { startUpstreamSimulator, type UpstreamSimulator } from '../../dev/upstreamSimulator';
import { loadConfig } from '../../shared/config';
import type { Job } from '../../shared/model';
import type { CycleReport } from '../../shared/poller/poller';
import { POLL_QUEUE_NAME } from '../../shared/queue/message';
import { createTableClientFactory, TableJobStore } from '../../shared/store/tableJobStore';
import { startAppProcess, type AppProcess } from '../support/appProcess';
import { jobOf, MINUTE, recordFigures, SECRET, UPSTREAM_KEY } from '../support/faultHarness';

const GROUPS = ['killed-0', 'killed-1', 'killed-2'];
const VICTIM = GROUPS[0]!;
/** The message lease of the worker processes: a killed worker's messages show again after it. */
const LEASE_SECONDS = 3;

let azurite: AzuriteInstance;
let identity: IdentityEndpoint;
let vault: KeyVaultStandIn;
let sim: UpstreamSimulator;
let store: TableJobStore;
let jobs: Job[];
let settings: Record<string, string>;
const workers: AppProcess[] = [];
const reports: CycleReport[] = [];
let killedAfterCalls = 0;
let left: { polls: number; poison: number };

const callsOf = (group: string): number => sim.calls.filter((c) => c.path.includes(`/${group}/`)).length;

beforeAll(async () => {
  azurite = await startAzurite();
  identity = await startIdentityEndpoint();
  vault = await startKeyVault({
    secrets: { [SECRET]: UPSTREAM_KEY },
    validateToken: (token) => identity.isValidToken(token),
    tenantId: identity.tenantId,
  });
  sim = await startUpstreamSimulator({ keys: [UPSTREAM_KEY] });
  store = new TableJobStore({
    tableClient: createTableClientFactory({ connectionString: azurite.connectionString }),
  });
  await store.initialize();
  const now = Date.now();
  jobs = GROUPS.map((personGroupId) => {
    sim.addFaceGroup(personGroupId, {
      createdAt: new Date(now - MINUTE),
      trainings: [{ startAt: new Date(now - MINUTE), durationMs: 60 * MINUTE, outcome: 'succeeded' }],
    });
    return jobOf({ sim: 0, kind: 'face.personGroup', personGroupId }, sim.origin, new Date(now));
  });
  for (const job of jobs) await store.register(job);
  // The victim's first call hangs: the worker is killed while it waits.
  sim.injectFault({ match: { path: new RegExp(`/${VICTIM}/`) }, times: 1, response: { hang: true } });
  settings = {
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URL: vault.url,
    IDENTITY_ENDPOINT: identity.endpoint,
    IDENTITY_HEADER: identity.header,
    ALLOWED_UPSTREAM_HOSTS: sim.origin,
    UPSTREAM_RATE_LIMITS: `${new URL(sim.origin).host}=60/min`,
    // The timer never fires by itself; this test runs the cycles.
    POLL_SCHEDULE: '0 0 0 1 1 *',
    // An empty call window (deadline − timeout − margin = 0): the cycle hands every job to the queue.
    CYCLE_DEADLINE_SECONDS: '10',
    UPSTREAM_TIMEOUT_SECONDS: '9',
  };
  const args = ['--role', 'worker', '--queue-lease-seconds', String(LEASE_SECONDS)];
  // The cycle through the composition root, with the workers' settings (same tables, same queue).
  const { poller } = buildServices(loadConfig(settings));

  // Act (shared): a worker takes the messages; it is killed while the victim's call hangs; another starts.
  workers.push(await startAppProcess(settings, args));
  reports.push(await poller.runCycle());
  const firstSlot = Date.now();
  while (callsOf(VICTIM) === 0 && Date.now() < firstSlot + 30_000) await sleep(50);
  killedAfterCalls = sim.calls.length;
  await workers[0]!.kill('SIGKILL');
  workers.push(await startAppProcess(settings, args));
  // Every claim of the cycle has expired (slot + timeout + margin + 10 s of queue delay): the next cycle.
  await sleep(Math.max(0, firstSlot + 3 * 1_020 + 9_000 + 1_000 + 10_000 + 1_000 - Date.now()));
  reports.push(await poller.runCycle());
  await sleep(2_000);
  const count = async (name: string): Promise<number> => {
    const queue = new QueueClient(azurite.connectionString, name);
    if (!(await queue.exists())) return 0;
    return (await queue.getProperties()).approximateMessagesCount ?? 0;
  };
  // The second worker handles what the first one held (a slow start on a busy machine delays it).
  const drained = Date.now() + 45_000;
  while ((await count(POLL_QUEUE_NAME)) > 0 && Date.now() < drained) await sleep(500);
  left = { polls: await count(POLL_QUEUE_NAME), poison: await count(`${POLL_QUEUE_NAME}-poison`) };
}, 240_000);

afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await sim?.stop();
  await vault?.stop();
  await identity?.stop();
  await azurite?.stop();
});

describe('a queue worker killed with SIGKILL while it handles a message', () => {
  it('loses nothing: its job is polled exactly once more, and every other job once', async () => {
    // Prepare
    const stored = await Promise.all(jobs.map((j) => store.get(j.id)));

    // Act
    const calls = Object.fromEntries(GROUPS.map((g) => [g, callsOf(g)]));
    recordFigures('worker-killed', {
      handedOff: reports[0]!.handedOff,
      callsWhenKilled: killedAfterCalls,
      calls,
      polledByNextCycle: reports[1]!.polled,
      left,
      secondWorker: workers[1]!
        .output()
        .split('\n')
        .filter((l) => l.includes('pollJob')).length,
    });

    // Assess
    expect(reports[0]!.handedOff).toBe(GROUPS.length);
    expect(calls).toEqual({ [VICTIM]: 2, 'killed-1': 1, 'killed-2': 1 });
    for (const job of stored) {
      expect(job?.state.checkedAt).not.toBeNull();
      expect(job?.state.status).toBe('running');
    }
  });

  it('leaves no message behind: none in the queue, none poisoned', () => {
    // Assess
    expect(left).toEqual({ polls: 0, poison: 0 });
  });
});
