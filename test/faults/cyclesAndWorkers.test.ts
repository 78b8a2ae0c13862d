/**
 * Two cycles and four queue workers at once over the same due jobs, in real time (docs/spec.md §5): two hosts' timers
 * fire together, each claims what it can with budget slots and hands the slots after its call window to a Storage
 * queue on Azurite, which four listeners (four instances, dev/queueTriggers.ts with host.json's settings) drain.
 * No due job is called twice, every job is stored or due again, and no period at the simulator holds more calls
 * than the budget: a cycle's call that comes later than its slot allows (a busy machine) takes a fresh slot, so it
 * cannot crowd the workers' calls made at theirs (before, 32 calls in one 15 s period of a 30-call budget at a load
 * average of 20).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Job } from '../../shared/model';
import type { CycleReport } from '../../shared/poller/poller';
import { recordFigures, stopIdentityEndpoint, type Harness } from '../support/faultHarness';
import { startRealTimeHandOff, type QueueWorkers, type RealTimeHandOff } from '../support/queueWorkers';

const connectionString = inject('azuriteConnectionString');
const JOBS = 40;
/** 30 calls in 15 s (spacing 510 ms): 40 slots span 20 s, past the cycles' 3.4 s call window and one period. */
const BUDGET = { calls: 30, periodMs: 15_000 };

let h: Harness;
let jobs: Job[];
let workers: QueueWorkers;
let reports: CycleReport[];
let next: CycleReport;
let rig: RealTimeHandOff;

beforeAll(async () => {
  rig = await startRealTimeHandOff({
    connectionString,
    budget: BUDGET,
    jobs: JOBS,
    prefix: 'cw',
    workers: 4,
  });
  ({ h, jobs, workers } = rig);
  const { instance } = rig;

  // Act (shared): both timers fire at once; the workers drain the queue.
  reports = await Promise.all([instance().runCycle(), instance().runCycle()]);
  next = await rig.nextCycle();
  await sleep(1_000);
}, 150_000);

afterAll(async () => {
  await rig?.stop();
  await stopIdentityEndpoint();
});

describe('two poll cycles and four queue workers at once over the same due jobs', () => {
  it('call no due job twice, keep the budget, and lose none: each is stored, or due again for the next cycle', async () => {
    // Prepare
    const perPath = new Map<string, number>();
    for (const call of h.sims[0]!.calls) perPath.set(call.path, (perPath.get(call.path) ?? 0) + 1);
    const stored = await Promise.all(jobs.map((j) => h.rawStore.get(j.id)));
    const now = Date.now();

    // Act
    const byWorker = [0, 1, 2, 3].map((w) => workers.outcomes.filter((o) => o.worker === w).length);
    const polled = stored.filter((j) => j?.state.checkedAt !== null).length;
    const dueAgain = stored.filter(
      (j) => j?.state.checkedAt === null && Date.parse(j.state.nextCheckAt ?? '') <= now,
    ).length;
    recordFigures('cycles-and-workers', {
      polledByCycles: reports.map((r) => r.polled),
      handedOff: reports.map((r) => r.handedOff),
      claimedElsewhere: reports.map((r) => r.claimedElsewhere),
      messagesByWorker: byWorker,
      outcomes: workers.outcomes.map((o) => o.outcome),
      polledByNextCycle: next.polled,
      calls: h.sims[0]!.calls.length,
      polled,
      dueAgain,
      mostCallsInOnePeriod: h.sims[0]!.maxCallsInWindow(BUDGET.periodMs),
    });

    // Assess
    expect([...perPath.values()].filter((n) => n > 1)).toEqual([]);
    expect(workers.outcomes.filter((o) => o.outcome === 'lostRace' || o.outcome === 'failed')).toEqual([]);
    expect(polled).toBe(perPath.size);
    expect(polled + dueAgain).toBe(JOBS);
    expect(h.sims[0]!.maxCallsInWindow(BUDGET.periodMs)).toBeLessThanOrEqual(BUDGET.calls);
    // Most are polled in the first pass; on a busy machine a worker late for its slot leaves its job due.
    expect(polled).toBeGreaterThanOrEqual(JOBS / 2);
  });
});
