/**
 * Scenario 2 — a hung upstream: one resource accepts connections and never answers. Real time (the hang, the
 * upstream timeout and the cycle deadline are what is measured), with short settings: 800 ms upstream timeout,
 * 4 s cycle deadline.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Job } from '../../shared/model';
import { writeMarginMs, type CycleReport } from '../../shared/poller/poller';
import {
  jobOf,
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  type Harness,
} from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');

const HUNG_JOBS = 40;
const HEALTHY_JOBS = 8;
const TIMEOUT_MS = 800;
const DEADLINE_MS = 4_000;

let h: Harness;
let report: CycleReport;
let elapsedMs: number;
const before = new Map<string, Job>();

beforeAll(async () => {
  h = await startHarness({
    connectionString,
    simulators: 3,
    realTime: true,
    budget: { calls: 600, periodMs: MINUTE },
    settings: { upstreamTimeoutMs: TIMEOUT_MS, cycleDeadlineMs: DEADLINE_MS },
  });
  // Every group is training; each job already has its last status (running, checked a minute ago).
  const now = Date.now();
  const jobs: Job[] = [];
  for (let sim = 0; sim < 3; sim++) {
    const count = sim === 0 ? HUNG_JOBS : HEALTHY_JOBS;
    for (let i = 0; i < count; i++) {
      const personGroupId = `g${sim}-${i}`;
      h.sims[sim]!.addFaceGroup(personGroupId, {
        createdAt: new Date(now - 60 * MINUTE),
        trainings: [{ startAt: new Date(now - 10 * MINUTE), durationMs: 60 * MINUTE, outcome: 'succeeded' }],
      });
      const job = jobOf({ sim, kind: 'face.personGroup', personGroupId }, h.sims[sim]!.origin, new Date(now));
      job.state = {
        ...job.state,
        status: 'running',
        upstreamStatus: 'running',
        upstream: { status: 'running' },
        checkedAt: new Date(now - MINUTE).toISOString(),
      };
      jobs.push(job);
      before.set(job.id, job);
    }
  }
  for (const job of jobs) await h.rawStore.register(job);
  // Resource 0 accepts every connection and never answers.
  h.sims[0]!.injectFault({ times: Infinity, response: { hang: true } });

  // Act (shared): one cycle.
  const started = performance.now();
  report = await h.newPoller().runCycle();
  elapsedMs = Math.round(performance.now() - started);
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

async function jobsOf(sim: number): Promise<Job[]> {
  const all = await h.rawStore.list({ top: 100 });
  return all.items.filter((j) => j.endpoint === h.sims[sim]!.origin);
}

describe('a resource that accepts connections and never answers', () => {
  it('does not hold the cycle past its deadline', () => {
    // Prepare
    const reported = Date.parse(report.finishedAt) - Date.parse(report.startedAt);

    // Act
    recordFigures('s2-hung', {
      upstreamTimeoutMs: TIMEOUT_MS,
      cycleDeadlineMs: DEADLINE_MS,
      cycleMs: elapsedMs,
      hungCallsMade: h.sims[0]!.calls.length,
      report,
    });

    // Assess
    expect(reported).toBeLessThan(DEADLINE_MS);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS);
    expect(h.sims[0]!.calls.length).toBeGreaterThan(0); // the hang really was met
  });

  it('polls the other resources normally, on their budget slots', async () => {
    // Prepare
    const spacing = h.budget.periodMs / h.budget.calls;

    // Act
    const healthy = [...(await jobsOf(1)), ...(await jobsOf(2))];

    // Assess
    expect(healthy).toHaveLength(2 * HEALTHY_JOBS);
    for (const job of healthy) {
      expect(job.state.lastError).toBeNull();
      expect(job.state.status).toBe('running');
      expect(Date.parse(job.state.checkedAt!)).toBeGreaterThanOrEqual(Date.parse(report.startedAt));
    }
    for (const sim of [1, 2]) {
      const times = h.sims[sim]!.calls.map((c) => c.at.getTime() - Date.parse(report.startedAt));
      expect(times).toHaveLength(HEALTHY_JOBS);
      // Not held behind the hung calls: the last healthy call is made near its own slot. Held behind them, it
      // would wait out one 800 ms timeout per hung call before it (40 of them); the margin of a few timeouts is
      // for a busy machine's event-loop lag, not for any hung call.
      expect(Math.max(...times)).toBeLessThan(HEALTHY_JOBS * spacing + 3 * TIMEOUT_MS);
    }
  });

  it('keeps the hung jobs at their last status, with UpstreamUnavailable or still due', async () => {
    // Prepare
    const hung = await jobsOf(0);
    const unavailable = hung.filter((j) => j.state.lastError?.code === 'UpstreamUnavailable');
    const untouched = hung.filter((j) => j.state.lastError === null);

    // Act
    recordFigures('s2-hung-jobs', {
      hungJobs: hung.length,
      markedUpstreamUnavailable: unavailable.length,
      leftDueForNextCycle: untouched.length,
    });

    // Assess
    expect(hung).toHaveLength(HUNG_JOBS);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(unavailable.length + untouched.length).toBe(HUNG_JOBS);
    for (const job of hung) {
      expect(job.state.status).toBe('running');
      expect(job.state.upstream).toEqual(before.get(job.id)!.state.upstream);
    }
    for (const job of untouched) {
      expect(Date.parse(job.state.nextCheckAt!)).toBeLessThanOrEqual(Date.parse(report.finishedAt));
    }
    for (const job of unavailable) {
      expect(Date.parse(job.state.nextCheckAt!)).toBeGreaterThan(Date.parse(report.finishedAt));
      // Every hung call was given up early enough to store its outcome before the deadline.
      const outcomeAt = Date.parse(job.state.lastError!.at) - Date.parse(report.startedAt);
      expect(outcomeAt).toBeLessThanOrEqual(DEADLINE_MS - writeMarginMs(DEADLINE_MS) / 2);
    }
  });
});
