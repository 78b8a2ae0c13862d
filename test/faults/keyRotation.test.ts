/**
 * Scenario 7 — key rotation: the key changes in the vault and the upstream starts refusing the old one. One vault
 * re-read, one retry per refused call, no storm; and when the vault has nothing newer yet, no storm either.
 */
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  MINUTE,
  recordFigures,
  SECRET,
  startHarness,
  stopIdentityEndpoint,
  T0,
  UPSTREAM_KEY,
  type Harness,
  type JobSpec,
  addMixedJobs,
} from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');

const RESOURCES = 3;
const JOBS_PER_RESOURCE = 15;
const NEW_KEY = 'fault-suite-key-rotated-4c2a';

let h: Harness;

beforeEach(async () => {
  h = await startHarness({ connectionString, simulators: RESOURCES });
  const specs: JobSpec[] = [];
  for (let sim = 0; sim < RESOURCES; sim++) {
    specs.push(
      ...addMixedJobs(h.sims, sim, JOBS_PER_RESOURCE, `g${sim}`, {
        createdAt: new Date(T0 - MINUTE),
        startAt: new Date(T0 - MINUTE),
        durationMs: 60 * MINUTE,
        outcome: 'succeeded',
      }),
    );
  }
  await h.register(specs);
  await h.cycleAt(T0); // every job polled once with the current key (one vault read)
}, 60_000);

afterEach(async () => {
  await h?.stop();
});

describe('a key rotated in the vault and refused upstream', () => {
  it('re-reads the vault once and retries each refused call once', async () => {
    // Prepare: the rotation lands just before a cycle in which every resource calls at the same instant.
    await h.cycleAt(T0 + MINUTE);
    const readsBefore = h.vaultReads(SECRET);
    h.vault.setSecret(SECRET, NEW_KEY);
    for (const sim of h.sims) sim.setKeys([NEW_KEY]);
    const callsBefore = h.sims.map((s) => s.calls.length);

    // Act: the next two cycles poll every job again (each job is due every other cycle).
    await h.cycleAt(T0 + 2 * MINUTE);
    await h.cycleAt(T0 + 3 * MINUTE);

    // Assess
    const calls = h.sims.flatMap((s, i) => s.calls.slice(callsBefore[i]));
    const refused = calls.filter((c) => c.status === 401);
    const jobs = (await h.rawStore.list({ top: 100 })).items;
    const figures = {
      jobs: jobs.length,
      vaultReReads: h.vaultReads(SECRET) - readsBefore,
      upstream401: refused.length,
      retriesAfter401: refused.filter((r) =>
        calls.some((c) => c.path === r.path && c.at.getTime() > r.at.getTime() && c.key === NEW_KEY),
      ).length,
      callsWithNewKey: calls.filter((c) => c.key === NEW_KEY).length,
      unauthorizedJobs: jobs.filter((j) => j.state.lastError?.code === 'Unauthorized').length,
    };
    recordFigures('s7-rotation', figures);
    expect(figures.vaultReReads).toBe(1);
    // Only calls already made with the old key are refused: at most one per resource, each retried once.
    expect(figures.upstream401).toBeGreaterThanOrEqual(1);
    expect(figures.upstream401).toBeLessThanOrEqual(RESOURCES);
    expect(figures.retriesAfter401).toBe(figures.upstream401);
    expect(figures.unauthorizedJobs).toBe(0);
    for (const job of jobs) expect(job.state.lastError).toBeNull();
    expect(figures.callsWithNewKey).toBe(calls.length - figures.upstream401);
  });

  it('makes no storm when the vault has no newer key yet: one re-read, one retry per job, then a long back-off', async () => {
    // Prepare: the upstream refuses the key; the vault still holds it.
    const readsBefore = h.vaultReads(SECRET);
    for (const sim of h.sims) sim.setKeys([NEW_KEY]);
    const callsBefore = h.sims.map((s) => s.calls.length);

    // Act
    await h.cycleAt(T0 + MINUTE);
    await h.cycleAt(T0 + 2 * MINUTE);
    await h.cycleAt(T0 + 3 * MINUTE);

    // Assess
    const calls = h.sims.flatMap((s, i) => s.calls.slice(callsBefore[i]));
    const jobs = (await h.rawStore.list({ top: 100 })).items;
    const perJob = new Map<string, number>();
    for (const c of calls) perJob.set(c.path, (perJob.get(c.path) ?? 0) + 1);
    const figures = {
      jobs: jobs.length,
      vaultReReads: h.vaultReads(SECRET) - readsBefore,
      upstreamCalls: calls.length,
      maxCallsPerJob: Math.max(...perJob.values()),
    };
    recordFigures('s7-rotation-vault-not-updated', figures);
    expect(calls.every((c) => c.key === UPSTREAM_KEY && c.status === 401)).toBe(true);
    expect(figures.vaultReReads).toBeLessThanOrEqual(2); // at most one per 30 s of refusals, not one per job
    expect(figures.maxCallsPerJob).toBe(2); // the call and its one retry; then 15 minutes of back-off
    for (const job of jobs) {
      expect(job.state.lastError?.code).toBe('Unauthorized');
      expect(job.state.status).toBe('running');
      expect(Date.parse(job.state.nextCheckAt!) - Date.parse(job.state.lastError!.at)).toBeGreaterThanOrEqual(
        15 * MINUTE,
      );
    }
  });
});

afterAll(async () => {
  await stopIdentityEndpoint();
});
