/**
 * Scenario 3 in real time: two hosts fire their timers a few milliseconds apart, in either order, over the same
 * due jobs (docs/spec.md §5). The claims are taken on the real clock against Azurite, so each due job is called
 * once whichever host's timer fires first. The virtual-clock scenario (concurrentCycles.test.ts) starts both
 * cycles at exactly the same instant; this one adds the jitter the Functions host has. On a busy machine a cycle
 * may claim a job and find no slot left for it in time: it counts the job as deferred and drops its claim, and the
 * next cycle (here run at once) polls it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHarness, stopIdentityEndpoint, type Harness } from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');
const JOBS = 20;
/** Host B's timer fires this many ms after (positive) or before (negative) host A's. */
const OFFSETS_MS = [3, -4];

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    connectionString,
    simulators: 1,
    realTime: true,
    budget: { calls: 50, periodMs: 1_000 },
  });
  await h.registerTrainingGroups('rt', JOBS);
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('two hosts whose timers fire a few milliseconds apart, in real time', () => {
  it('call each due job once and poll every one of them', async () => {
    // Prepare: host B fires a few ms after host A.
    const offset = OFFSETS_MS[0]!;
    const hostA = h.newPoller();
    const hostB = h.newPoller();

    // Act
    const runs = await Promise.all([
      hostA.runCycle(),
      sleep(Math.max(0, offset)).then(() => hostB.runCycle()),
    ]);
    const next = await h.newPoller().runCycle();

    // Assess
    const perPath = new Map<string, number>();
    for (const call of h.sims[0]!.calls) perPath.set(call.path, (perPath.get(call.path) ?? 0) + 1);
    expect([...perPath.values()].filter((n) => n > 1)).toEqual([]);
    expect(perPath.size).toBe(JOBS);
    expect(runs[0].polled + runs[1].polled + next.polled).toBe(JOBS);
    // Whatever the two cycles left, they counted, and the next cycle took.
    expect(next.polled).toBe(runs[0].deferred + runs[1].deferred);
    expect(next.claimedElsewhere).toBe(0);
  });

  it('leave no duplicate when the other host fires first', async () => {
    // Prepare: 20 new jobs, due now (the first ones are not due again before their interval).
    const offset = OFFSETS_MS[1]!;
    const before = h.sims[0]!.calls.length;
    await h.registerTrainingGroups('rt2', JOBS);
    const hostA = h.newPoller();
    const hostB = h.newPoller();

    // Act: host B fires first, host A a few ms later.
    const runs = await Promise.all([sleep(-offset).then(() => hostA.runCycle()), hostB.runCycle()]);
    const next = await h.newPoller().runCycle();

    // Assess
    const calls = h.sims[0]!.calls.slice(before).filter((c) => c.path.includes('/rt2-'));
    expect(new Set(calls.map((c) => c.path)).size).toBe(JOBS);
    expect(calls.length).toBe(JOBS);
    expect(runs[0].polled + runs[1].polled + next.polled).toBe(JOBS);
    expect(next.polled).toBe(runs[0].deferred + runs[1].deferred);
    expect(next.claimedElsewhere).toBe(0);
  });
});
