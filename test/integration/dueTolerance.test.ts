/**
 * The due tolerance (docs/spec.md §5): a job is due in a cycle when its `nextCheckAt` falls before the cycle's
 * start plus the smaller of 2 s and a tenth of its interval. A timer that fires a few milliseconds early must not
 * push a job polled every cycle to the cycle after (which made a 60 s interval a 120 s one), and no call is made
 * more than that tolerance before `nextCheckAt`.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PollerDeps } from '../../shared/poller/poller';
import {
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  type Harness,
  type JobSpec,
} from '../support/faultHarness';
import { ScaledClock } from '../support/scaledClock';
import { seededRandom } from '../../dev/virtualClock';

const connectionString = inject('azuriteConnectionString');

/** Face groups that train for two hours from `from`: every poll finds them running. */
function runningGroups(h: Harness, sim: number, names: readonly string[], from: number): JobSpec[] {
  for (const name of names) {
    h.sims[sim]!.addFaceGroup(name, {
      createdAt: new Date(from - MINUTE),
      trainings: [{ startAt: new Date(from - MINUTE), durationMs: 120 * MINUTE, outcome: 'succeeded' }],
    });
  }
  return names.map((personGroupId) => ({ sim, kind: 'face.personGroup', personGroupId }));
}

/** Upstream calls per person group. */
function callsPerGroup(h: Harness): Map<string, number> {
  const out = new Map<string, number>();
  for (const call of h.sims.flatMap((s) => s.calls)) {
    const group = /persongroups\/([^/]+)\/training/i.exec(call.path)?.[1] ?? call.path;
    out.set(group, (out.get(group) ?? 0) + 1);
  }
  return out;
}

afterAll(async () => {
  await stopIdentityEndpoint();
});

describe('the due tolerance on the virtual clock', () => {
  let h: Harness;
  const GROUPS = ['v-0', 'v-1', 'v-2', 'v-3'];

  beforeAll(async () => {
    h = await startHarness({ connectionString, simulators: 3 });
    await h.register(runningGroups(h, 0, GROUPS, T0));
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('polls a 60 s job in every minute cycle when the timer fires a few milliseconds early', async () => {
    // Prepare: cycles one minute apart, fired 3 ms early, 4 ms late, 2 ms early, 1 ms early.
    const firedAt = [T0, T0 + MINUTE - 3, T0 + 2 * MINUTE + 4, T0 + 3 * MINUTE - 2, T0 + 4 * MINUTE - 1];

    // Act
    const reports = [];
    for (const at of firedAt) reports.push(await h.cycleAt(at));

    // Assess
    expect(reports.map((r) => r.polled)).toEqual(firedAt.map(() => GROUPS.length));
    expect(Object.fromEntries(callsPerGroup(h))).toEqual(
      Object.fromEntries(GROUPS.map((g) => [g, firedAt.length])),
    );
  });

  it('never calls a job more than its tolerance before its nextCheckAt', async () => {
    // Prepare: a 10 s job (tolerance 1 s) and a 60 s job (tolerance 2 s), polled once at `from`.
    const from = T0 + 10 * MINUTE;
    const specs = [
      ...runningGroups(h, 1, ['ten'], from).map((s) => ({ ...s, intervalSeconds: 10 })),
      ...runningGroups(h, 2, ['sixty'], from),
    ];
    h.clock.set(from);
    await h.register(specs);
    await h.cycleAt(from);
    h.sims[1]!.resetCalls();
    h.sims[2]!.resetCalls();

    // Act: 1.5 s before the 10 s job's next check, then 0.9 s before it; 1.5 s before the 60 s job's.
    const early = await h.cycleAt(from + 8_500);
    const inside = await h.cycleAt(from + 9_100);
    const sixtyInside = await h.cycleAt(from + MINUTE - 1_500);

    // Assess
    expect(early.polled).toBe(0);
    expect(inside.polled).toBe(1);
    expect(sixtyInside.polled).toBeGreaterThanOrEqual(2);
    expect(h.sims[1]!.calls[0]?.at.getTime()).toBe(from + 9_100);
    expect(h.sims[2]!.calls.map((c) => c.at.getTime())).toEqual([from + MINUTE - 1_500]);
  });
});

describe('the due tolerance in real time, with timer jitter', () => {
  /** 1 s of schedule time is 100 ms of real time: a 10 s interval is one real second (room for a slow cycle). */
  const SCALE = 10;
  const INTERVAL_MS = 10_000;
  const CYCLES = 7;
  const GROUPS = ['r-0', 'r-1', 'r-2'];
  let h: Harness;
  const clock = new ScaledClock(SCALE);
  const calls: { group: string; at: number }[] = [];
  const starts: number[] = [];
  const polled: number[] = [];

  beforeAll(async () => {
    h = await startHarness({ connectionString, simulators: 1, realTime: true });
    await h.register(
      runningGroups(h, 0, GROUPS, Date.now()).map((s) => ({ ...s, intervalSeconds: INTERVAL_MS / 1000 })),
    );
    const fetchUpstream: PollerDeps['fetchUpstream'] = (url, options) => {
      calls.push({ group: /persongroups\/([^/]+)\//i.exec(url)?.[1] ?? url, at: clock.nowMs() });
      return h.fetchUpstream(url, options);
    };
    const poller = h.newPoller({ clock, fetchUpstream });
    // Act (shared): a timer that fires each cycle one interval after the last one started, a few real
    // milliseconds early or late (seeded), as a host's timer does.
    const random = seededRandom(10);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      if (cycle > 0) {
        // Every other cycle 1-5 ms early, the others 1-5 ms late.
        const jitterRealMs = (cycle % 2 === 1 ? -1 : 1) * (1 + Math.round(random() * 4));
        const target = starts[cycle - 1]! + INTERVAL_MS + jitterRealMs * SCALE;
        // A real timer to just before the target, then turns of the event loop up to it: the jitter is the one
        // chosen, whatever the load on the machine adds to the timer.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, (target - clock.nowMs()) / SCALE - 15)),
        );
        while (clock.nowMs() < target) await new Promise((resolve) => setImmediate(resolve));
      }
      starts.push(clock.nowMs());
      polled.push((await poller.runCycle()).polled);
    }
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('polls every job in every cycle', () => {
    // Prepare
    const perGroup = new Map(GROUPS.map((g) => [g, calls.filter((c) => c.group === g).map((c) => c.at)]));

    // Act
    const gaps = [...perGroup.values()].flatMap((times) => times.slice(1).map((t, i) => t - times[i]!));
    const cycleGaps = starts.slice(1).map((t, i) => Math.round(t - starts[i]!));
    recordFigures('due-tolerance-real-time', {
      scale: SCALE,
      intervalMs: INTERVAL_MS,
      cycleGapsMs: cycleGaps,
      earlyCycles: cycleGaps.filter((g) => g < INTERVAL_MS).length,
      pollGapMaxMs: Math.round(Math.max(...gaps)),
      polledPerCycle: polled,
    });

    // Assess
    expect(polled).toEqual(starts.map(() => GROUPS.length));
    for (const times of perGroup.values()) expect(times).toHaveLength(CYCLES);
  });
});
