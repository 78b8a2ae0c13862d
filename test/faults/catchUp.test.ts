/**
 * Scenario 9 — catch-up: the app was down for 30 minutes; the timer fires once, past due. One catch-up pass
 * polls what the budgets allow, spaced by the budgets (no burst); the next cycle takes the rest.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeMarginMs, type CycleReport } from '../../shared/poller/poller';
import { spacingMs } from '../../shared/poller/budget';
import {
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  type Harness,
  type JobSpec,
  addMixedJobs,
} from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');

/** Resource 0 has a free-tier budget (20 calls/min); resource 1 has 60 calls/min. Jobs: a mix of every kind. */
const BUDGETS = [
  { calls: 20, periodMs: MINUTE },
  { calls: 60, periodMs: MINUTE },
];
const JOBS = [25, 40];
const DOWN_FROM = T0 + 2 * MINUTE;
const BACK_AT = DOWN_FROM + 30 * MINUTE;

let h: Harness;
let catchUp: CycleReport;
let next: CycleReport;
let dueAtCatchUp = 0;

beforeAll(async () => {
  h = await startHarness({ connectionString, simulators: 2 });
  h.settings.rateLimits = new Map(BUDGETS.map((b, i) => [h.resourceOf(i), b]));
  const specs: JobSpec[] = [];
  for (let sim = 0; sim < 2; sim++) {
    specs.push(
      ...addMixedJobs(h.sims, sim, JOBS[sim]!, `g${sim}`, {
        createdAt: new Date(T0 - MINUTE),
        startAt: new Date(T0 - MINUTE),
        durationMs: 120 * MINUTE,
        outcome: 'succeeded',
      }),
    );
  }
  await h.register(specs);

  // Act (shared): two normal cycles, 30 minutes without any, one past-due cycle, then the next one.
  await h.cycleAt(T0);
  await h.cycleAt(T0 + MINUTE);
  h.clock.set(BACK_AT);
  dueAtCatchUp = (await h.rawStore.listDue(h.clock.now(), { limit: 1000 })).length;
  catchUp = await h.cycleAt(BACK_AT);
  next = await h.cycleAt(BACK_AT + MINUTE);
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('a catch-up after 30 minutes down', () => {
  it('makes one pass over every due job, spaced by the budgets: no burst', () => {
    // Prepare
    const from = BACK_AT;
    const to = BACK_AT + MINUTE;

    // Act
    const perResource = h.sims.map((sim, i) => {
      const calls = sim.calls.filter((c) => c.at.getTime() >= from && c.at.getTime() < to);
      const times = calls.map((c) => c.at.getTime()).sort((a, b) => a - b);
      const gaps = times.slice(1).map((t, k) => t - times[k]!);
      return {
        resource: i,
        budget: `${BUDGETS[i]!.calls}/min`,
        catchUpCalls: calls.length,
        distinctJobs: new Set(calls.map((c) => c.path)).size,
        smallestGapMs: gaps.length ? Math.min(...gaps) : null,
        maxCallsIn60s: sim.maxCallsInWindow(MINUTE),
      };
    });
    recordFigures('s9-catch-up', {
      downMinutes: 30,
      dueAtCatchUp,
      catchUp: { polled: catchUp.polled, deferred: catchUp.deferred, errors: catchUp.errors },
      next: { polled: next.polled, errors: next.errors },
      perResource,
    });

    // Assess
    expect(dueAtCatchUp).toBe(JOBS[0]! + JOBS[1]!);
    for (const [i, r] of perResource.entries()) {
      expect(r.catchUpCalls).toBeGreaterThan(0);
      expect(r.distinctJobs).toBe(r.catchUpCalls); // one pass: no job twice
      expect(r.smallestGapMs).toBeGreaterThanOrEqual(BUDGETS[i]!.periodMs / BUDGETS[i]!.calls);
      expect(r.maxCallsIn60s).toBeLessThanOrEqual(BUDGETS[i]!.calls);
    }
    expect(catchUp.errors).toBe(0);
  });

  it('leaves what the budget could not take due, and the next cycle takes it first', async () => {
    // Prepare: the slots one cycle has per resource (its last call ends, and is stored, by the deadline).
    const { cycleDeadlineMs, upstreamTimeoutMs } = h.settings;
    const window = cycleDeadlineMs - upstreamTimeoutMs - writeMarginMs(cycleDeadlineMs);
    const slotsPerCycle = BUDGETS.map((b) => Math.floor(window / spacingMs(b)) + 1);
    const jobs = (await h.rawStore.list({ top: 100 })).items;

    // Act
    const neverPolledSinceBack = jobs.filter((j) => Date.parse(j.state.checkedAt!) < BACK_AT);

    // Assess: what does not fit in the pass is deferred, not called early; the next cycle takes it.
    const expectedDeferred = JOBS.reduce((n, jobs, i) => n + Math.max(0, jobs - slotsPerCycle[i]!), 0);
    expect(expectedDeferred).toBeGreaterThan(0);
    expect(catchUp.deferred).toBe(expectedDeferred);
    expect(catchUp.polled + catchUp.deferred).toBe(dueAtCatchUp);
    expect(next.polled).toBeGreaterThanOrEqual(catchUp.deferred);
    expect(neverPolledSinceBack).toEqual([]);
  });
});
