/**
 * Scenario 6 — Key Vault faults: throttling (429 with Retry-After), 403, an unreachable vault. Jobs whose key is
 * cached go on; the others back off with SecretUnavailable; under load (20 jobs per secret) the vault sees at
 * most one read per secret per TTL, or per remembered failure while it fails (counted at the stand-in).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Job } from '../../shared/model';
import {
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  UPSTREAM_KEY,
  type Harness,
  type JobSpec,
} from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');

const JOBS_PER_SECRET = 20;
const TTL_MS = 5 * MINUTE;

type Phase = 'normal' | 'throttled' | 'forbidden' | 'unreachable';
/** The vault's state during each one-minute cycle. */
const PHASES: Phase[] = [
  'normal', // 0: key-a read once
  'throttled', // 1: key-b first needed now
  'forbidden', // 2
  'unreachable', // 3
  'unreachable', // 4
  'unreachable', // 5: key-a's TTL ends (read at 0:00)
  'unreachable', // 6
  'normal', // 7..13: recovery
  'normal',
  'normal',
  'normal',
  'normal',
  'normal',
  'normal',
];

let h: Harness;
const rows: {
  cycle: number;
  phase: Phase;
  readsA: number;
  readsB: number;
  polledA: number;
  failedA: number;
  bErrors: string[];
}[] = [];
const snapshots: Job[][] = [];

function isA(job: Job): boolean {
  return job.keySecretName === 'key-a';
}

beforeAll(async () => {
  h = await startHarness({
    connectionString,
    simulators: 1,
    secrets: { 'key-a': UPSTREAM_KEY, 'key-b': UPSTREAM_KEY },
    secretTtlMs: TTL_MS,
  });
  const specs = (secret: string): JobSpec[] =>
    Array.from({ length: JOBS_PER_SECRET }, (_, i) => {
      const personGroupId = `${secret}-${i}`;
      h.sims[0]!.addFaceGroup(personGroupId, {
        createdAt: new Date(T0 - MINUTE),
        trainings: [{ startAt: new Date(T0 - MINUTE), durationMs: 60 * MINUTE, outcome: 'succeeded' }],
      });
      return { sim: 0, kind: 'face.personGroup', personGroupId, secret } as const;
    });
  await h.register(specs('key-a'));

  // Act (shared): one cycle a minute; jobs using key-b are registered after key-a was read and cached.
  for (const [cycle, phase] of PHASES.entries()) {
    const at = T0 + cycle * MINUTE;
    if (cycle === 1) {
      h.clock.set(at - 30_000);
      await h.register(specs('key-b'));
    }
    h.vault.clearFaults();
    if (phase === 'throttled') h.vault.injectFault({ status: 429, headers: { 'retry-after': '30' } }); // longer than the SDK waits
    if (phase === 'forbidden') h.vault.injectFault({ status: 403 });
    if (phase === 'unreachable' && PHASES[cycle - 1] !== 'unreachable') await h.stopVault();
    if (phase !== 'unreachable' && PHASES[cycle - 1] === 'unreachable') await h.restartVault();
    const readsBefore = { a: h.vaultReads('key-a'), b: h.vaultReads('key-b') };
    await h.cycleAt(at);
    const jobs = (await h.rawStore.list({ top: 100 })).items;
    snapshots.push(jobs);
    const polledNow = (j: Job): boolean => Date.parse(j.state.checkedAt ?? '') >= at;
    rows.push({
      cycle,
      phase,
      readsA: h.vaultReads('key-a') - readsBefore.a,
      readsB: h.vaultReads('key-b') - readsBefore.b,
      polledA: jobs.filter((j) => isA(j) && polledNow(j) && j.state.lastError === null).length,
      failedA: jobs.filter((j) => isA(j) && j.state.lastError !== null).length,
      bErrors: [
        ...new Set(
          jobs
            .filter((j) => !isA(j) && polledNow(j))
            .map(
              (j) =>
                `${j.state.lastError?.code ?? 'ok'}${j.state.lastError?.httpStatus ? ` ${j.state.lastError.httpStatus}` : ''}`,
            ),
        ),
      ],
    });
  }
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('a Key Vault that throttles, forbids, and cannot be reached', () => {
  it('lets the jobs whose key is cached go on through every fault', () => {
    // Prepare
    const faulty = rows.filter((r) => r.phase !== 'normal');

    // Act
    recordFigures('s6-vault', { ttlMinutes: TTL_MS / MINUTE, jobsPerSecret: JOBS_PER_SECRET, rows });

    // Assess
    for (const row of rows) expect(row.failedA, `cycle ${row.cycle}`).toBe(0);
    expect(faulty.reduce((n, r) => n + r.polledA, 0)).toBeGreaterThanOrEqual(2 * JOBS_PER_SECRET);
  });

  it('backs the other jobs off with SecretUnavailable, keeping their status', () => {
    // Prepare
    const during = snapshots
      .slice(1, 7)
      .flat()
      .filter((j) => !isA(j) && j.state.lastError !== null);

    // Act
    const codes = new Set(rows.slice(1, 7).flatMap((r) => r.bErrors));

    // Assess
    expect(codes).toEqual(new Set(['SecretUnavailable 429', 'SecretUnavailable 403', 'SecretUnavailable']));
    for (const job of during) {
      expect(job.state.lastError!.code).toBe('SecretUnavailable');
      expect(job.state.status).toBe('pending');
      expect(Date.parse(job.state.nextCheckAt!) - Date.parse(job.state.lastError!.at)).toBeGreaterThanOrEqual(
        30_000,
      );
    }
  });

  it('reads each secret at most once per TTL under load, and once per remembered failure while the vault fails', () => {
    // Prepare
    const readsA = rows.reduce((n, r) => n + r.readsA, 0);

    // Act
    const maxPerCycle = Math.max(...rows.map((r) => Math.max(r.readsA, r.readsB)));

    // Assess
    expect(readsA).toBeLessThanOrEqual(Math.ceil((PHASES.length * MINUTE) / TTL_MS));
    expect(maxPerCycle).toBeLessThanOrEqual(1);
  });

  it('recovers: every job is polled with its key once the vault is back', () => {
    // Prepare
    const last = snapshots.at(-1)!;

    // Act
    const failing = last.filter((j) => j.state.lastError !== null || j.state.status !== 'running');

    // Assess
    expect(last).toHaveLength(2 * JOBS_PER_SECRET);
    expect(failing.map((j) => `${j.keySecretName}: ${j.state.status} ${j.state.lastError?.code}`)).toEqual(
      [],
    );
  });
});
