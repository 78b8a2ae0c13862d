/**
 * A call that reaches its budget slot late (docs/spec.md §5): two processes share one resource's budget through
 * the slots they reserve in its row. A call of one that starts well after its slot would land among the other's
 * calls made on time, and crowd a window past the budget; it takes a fresh slot instead.
 */
import { describe, expect, it } from 'vitest';
import { memoryTables } from '../../dev/memoryTables';
import { VirtualClock } from '../../dev/virtualClock';
import { KEY, ORIGIN, T0, unitServices, type UnitServices } from '../support/unitServices';

const BASE = 'http://localhost:7071';
/** 10 calls a second: one every 102 ms with the safety margin; a call may start 10 ms after its slot. */
const BUDGET = { calls: 10, periodMs: 1_000 };
const SLOW_KEY_MS = 1_100;

async function register(unit: UnitServices, prefix: string, count: number, keySecretName = 'face-key') {
  for (let i = 0; i < count; i++) {
    const response = await unit.services.api.register(
      JSON.stringify({
        kind: 'face.personGroup',
        endpoint: ORIGIN,
        keySecretName,
        personGroupId: `${prefix}-${i}`,
      }),
      'application/json',
      BASE,
    );
    expect(response.status).toBe(201);
  }
}

function mostCallsInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('a call that reaches its budget slot late', () => {
  it('takes a fresh slot, so two processes sharing the budget never exceed it in any window', async () => {
    // Prepare: process A reads one key slowly (its first call is 1.1 s late); process B's cycle starts 50 ms
    // later over more jobs, with the slots after A's.
    const clock = new VirtualClock(T0);
    const tables = memoryTables();
    const settings = { UPSTREAM_RATE_LIMITS: `${new URL(ORIGIN).host}=${BUDGET.calls}/s` };
    const a = unitServices({
      clock,
      tables,
      settings,
      keys: {
        getKey: async (name) => {
          if (name === 'slow-key') await clock.sleep(SLOW_KEY_MS);
          return KEY;
        },
      },
    });
    const b = unitServices({ clock, tables, settings });
    await register(a, 'a-slow', 1, 'slow-key');
    await register(a, 'a', 9);

    // Act
    const cycleA = a.services.poller.runCycle();
    await clock.sleep(50);
    await register(b, 'b', 10);
    const [reportA, reportB] = await Promise.all([cycleA, b.services.poller.runCycle()]);
    const times = [...a.calls, ...b.calls].map((c) => c.at);

    // Assess
    expect(reportA).toMatchObject({ polled: 10, errors: 0 });
    expect(reportB).toMatchObject({ polled: 10, errors: 0 });
    expect(times).toHaveLength(20);
    expect(mostCallsInWindow(times, BUDGET.periodMs)).toBeLessThanOrEqual(BUDGET.calls);
    // The late call was made on a slot after B's, not 1.1 s after its own.
    expect(a.calls.find((c) => c.url.includes('a-slow-0'))!.at - T0).toBeGreaterThanOrEqual(2_000);
  });
});
