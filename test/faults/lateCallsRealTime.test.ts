/**
 * A call that reaches its budget slot late, in real time (docs/spec.md §5; the virtual-clock case is
 * test/unit/lateCalls.test.ts): host A's first key read takes 1.1 s, so the worker holding A's first slot reaches
 * it late; host B's timer fires a few milliseconds after A's, with jitter, over more jobs of the same resource,
 * whose slots follow A's. The late call takes a fresh slot: no second at the simulator holds more calls than the
 * budget, and every job is polled once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHarness, stopIdentityEndpoint, type Harness } from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');
/** 10 calls a second (one every 102 ms with the safety margin): A's 10 slots span about 1 s, B's the next. */
const BUDGET = { calls: 10, periodMs: 1_000 };
const SLOW_KEY_MS = 1_100;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ connectionString, simulators: 1, realTime: true, budget: BUDGET });
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('a call that reaches its budget slot late, in real time', () => {
  it('takes a fresh slot, so two hosts sharing the budget never exceed it in any second', async () => {
    // Prepare: A's 10 jobs are registered first (A's cycle reserves them); B's 10 right after A fires.
    const jitter = (): number => Math.floor(Math.random() * 8);
    await h.registerTrainingGroups('late-a', 10);
    let slowReads = 1;
    const hostA = h.newPoller({
      keys: {
        getKey: async (name, options) => {
          if (slowReads-- > 0) await sleep(SLOW_KEY_MS + jitter());
          return h.keys.getKey(name, options);
        },
      },
    });
    const hostB = h.newPoller();
    h.sims[0]!.resetCalls();

    // Act: A fires; B fires a few ms later, once B's jobs exist.
    const cycleA = hostA.runCycle();
    await sleep(40 + jitter());
    await h.registerTrainingGroups('late-b', 10);
    const [reportA, reportB] = await Promise.all([cycleA, hostB.runCycle()]);

    // Assess
    const calls = h.sims[0]!.calls;
    const perPath = new Map<string, number>();
    for (const call of calls) perPath.set(call.path, (perPath.get(call.path) ?? 0) + 1);
    expect(reportA.polled + reportB.polled).toBe(20);
    expect([...perPath.values()].filter((n) => n > 1)).toEqual([]);
    expect(perPath.size).toBe(20);
    expect(h.sims[0]!.maxCallsInWindow(BUDGET.periodMs)).toBeLessThanOrEqual(BUDGET.calls);
  }, 60_000);
});
