/**
 * Claims and the hand-off under faults (docs/spec.md §5): a claim holder that dies, the `polls` queue unreachable,
 * a message that fails five times. Virtual time; an in-memory queue stands for the Storage queue.
 */
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { JobStore } from '../../shared/store/types';
import {
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  type Harness,
} from '../support/faultHarness';
import { MemoryPollQueue } from '../../dev/memoryPollQueue';

const connectionString = inject('azuriteConnectionString');
const JOBS = 30;
const BUDGET = { calls: 20, periodMs: MINUTE };

let h: Harness;

beforeEach(async () => {
  h = await startHarness({ connectionString, simulators: 1, budget: BUDGET });
  await h.registerTrainingGroups('c', JOBS, { trainingMs: 120 * MINUTE });
}, 60_000);

afterEach(async () => {
  await h?.stop();
});

afterAll(async () => {
  await stopIdentityEndpoint();
});

/** Virtual time `at` (ms): waits on the clock, so queue deliveries due before it happen. */
async function until(at: number): Promise<void> {
  await h.clock.sleep(at - h.clock.nowMs());
}

/** The person group of each upstream call. */
function calledGroups(from = 0, to = Infinity): string[] {
  return h.sims[0]!.calls.filter((c) => c.at.getTime() >= from && c.at.getTime() < to).map(
    (c) => /persongroups\/([^/]+)\//i.exec(c.path)?.[1] ?? c.path,
  );
}

async function checkedSince(at: number): Promise<Set<string>> {
  const jobs = (await h.rawStore.list({ top: 100 })).items;
  return new Set(jobs.filter((j) => Date.parse(j.state.checkedAt ?? '') >= at).map((j) => j.id));
}

describe('a claim holder that dies', () => {
  it('keeps its jobs from every other cycle while the claim holds, and they are due again within two cycles', async () => {
    // Prepare: host A claims the jobs of its window, then dies with every call hanging.
    const dying = new AbortController();
    const hostA = h.newPoller({
      fetchUpstream: (_url, options) =>
        new Promise((_, reject) => {
          options.abortSignal?.addEventListener('abort', () => reject(new Error('killed')), { once: true });
          dying.abort(new Error('host killed'));
        }),
    });
    const cycleA = await hostA.runCycle({ abortSignal: dying.signal });
    const claimedByA = new Set(
      ((await h.rawStore.getResourceState(h.resourceOf(0)))?.claims ?? []).map((c) => c.jobId),
    );
    const hostB = h.newPoller();

    // Act: host B runs a cycle 20 s later, then the next two minute cycles.
    h.clock.set(T0 + 20_000);
    const during = await hostB.runCycle();
    const polledDuring = await checkedSince(T0);
    const next = await h.cycleAt(T0 + MINUTE, hostB);
    const after = await h.cycleAt(T0 + 2 * MINUTE, hostB);
    const polledBy2 = await checkedSince(T0);
    recordFigures('claims-holder-dies', {
      claimedByDeadHost: during.claimedElsewhere,
      polledWhileHeld: during.polled,
      next: { polled: next.polled, claimedElsewhere: next.claimedElsewhere },
      after: { polled: after.polled },
      jobsPolledWithinTwoCycles: polledBy2.size,
    });

    // Assess
    expect(cycleA.polled).toBe(0);
    expect(during.claimedElsewhere).toBeGreaterThan(0);
    expect(during.polled).toBe(polledDuring.size);
    expect(next.claimedElsewhere).toBe(0);
    expect(during.claimedElsewhere).toBe(claimedByA.size);
    // No call to a job the dead host holds while its claim holds (until the dead cycle's deadline).
    expect([...polledDuring].filter((id) => claimedByA.has(id))).toEqual([]);
    // 30 jobs at 20 calls a minute: every job polled within the two cycles after the one that died.
    expect(polledBy2.size).toBe(JOBS);
  });
});

describe('the polls queue unreachable', () => {
  it('keeps polling in the window, leaves the rest due, and loses no job', async () => {
    // Prepare
    const queue = new MemoryPollQueue(h.clock);
    queue.unreachable = true;
    const poller = h.newPoller({ pollQueue: queue });

    // Act
    const first = await poller.runCycle();
    const second = await h.cycleAt(T0 + MINUTE, poller);
    const third = await h.cycleAt(T0 + 2 * MINUTE, poller);
    const polled = await checkedSince(T0);
    recordFigures('claims-queue-unreachable', {
      cycles: [first, second, third].map((r) => ({
        polled: r.polled,
        handedOff: r.handedOff,
        deferred: r.deferred,
        claimedElsewhere: r.claimedElsewhere,
        errors: r.errors,
      })),
      jobsPolled: polled.size,
    });

    // Assess
    expect(first.polled).toBeGreaterThan(0);
    expect(first.handedOff).toBe(0);
    expect(first.errors).toBe(1);
    expect(h.logs.some((l) => l.message.startsWith('hand-off to the polls queue failed'))).toBe(true);
    // The claims of the jobs not handed off were given back: no cycle finds them held.
    expect(second.claimedElsewhere + third.claimedElsewhere).toBe(0);
    expect(polled.size).toBe(JOBS);
  });
});

describe('a poll message that fails five times', () => {
  it('goes to the poison list, and its job is polled again within two cycles', async () => {
    // Prepare: the worker cannot read one job (its store fails for it); the messages carry no copy of the job (as
    // when it would make a message too large), so the worker reads it.
    const queue = new MemoryPollQueue(h.clock);
    const poller = h.newPoller({ pollQueue: queue });
    const unreadable = new Set<string>();
    const failing: JobStore = new Proxy(h.store, {
      get(target, property, receiver) {
        if (property === 'getForPoll')
          return (id: string, options?: { abortSignal?: AbortSignal }) =>
            unreadable.has(id)
              ? Promise.reject(new Error('storage unreachable'))
              : target.getForPoll(id, options);
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const worker = h.newPoller({ pollQueue: queue, store: failing });
    queue.listen((message, options) =>
      worker.pollQueued({ ...(message as object), job: undefined }, options),
    );

    // Act
    const first = await poller.runCycle();
    const victim = queue.sent[0]!.jobId;
    unreadable.add(victim);
    await queue.drain();
    await until(T0 + MINUTE);
    const second = await poller.runCycle();
    await queue.drain();
    await until(T0 + 2 * MINUTE);
    const third = await poller.runCycle();
    await queue.drain();
    const polledAt = (await h.rawStore.get(victim))?.state.checkedAt;
    recordFigures('claims-poison', {
      handedOff: first.handedOff,
      poisoned: queue.poison.length,
      attempts: queue.outcomes.filter((o) => o.message.jobId === victim).length,
      victimPolledAt: polledAt,
      cycles: [first, second, third].map((r) => ({ polled: r.polled, handedOff: r.handedOff })),
    });

    // Assess
    expect(first.handedOff).toBeGreaterThan(0);
    expect(queue.poison.map((m) => m.jobId)).toEqual([victim]);
    expect(queue.outcomes.filter((o) => o.message.jobId === victim)).toHaveLength(5);
    expect(Date.parse(polledAt ?? '')).toBeGreaterThanOrEqual(T0 + MINUTE);
    expect(Date.parse(polledAt ?? '')).toBeLessThan(T0 + 3 * MINUTE);
    expect(calledGroups().length).toBeGreaterThan(0);
  });
});

describe('a hand-off whose message was stored but whose answer was lost', () => {
  it('keeps the claim until it expires: the job is called once, by the stored message, not again by the next cycle', async () => {
    // Prepare: every send stores its message, then fails as a send whose answer was lost (a timeout) does; the
    // worker's upstream calls take 3 s, so the last handed-off call is still in flight when the next cycle starts.
    const queue = new MemoryPollQueue(h.clock);
    for (const job of (await h.rawStore.list({ top: 100 })).items) queue.answerLostFor.add(job.id);
    const hostA = h.newPoller({ pollQueue: queue });
    const worker = h.newPoller({
      pollQueue: queue,
      fetchUpstream: (url, options) => h.clock.sleep(3_000).then(() => h.fetchUpstream(url, options)),
    });
    queue.listen((message, options) => worker.pollQueued(message, options));

    // Act: the cycle at 0:00 hands off the jobs after its window; the next cycle runs at 1:00.
    const first = await hostA.runCycle();
    const last = queue.sent.at(-1)!;
    await until(T0 + MINUTE);
    const next = await h.newPoller({ pollQueue: queue }).runCycle();
    await queue.drain();
    const group = (await h.rawStore.get(last.jobId))?.identity['personGroupId'];
    const callsOfLast = calledGroups(T0, T0 + 90_000).filter((g) => g === group);
    recordFigures('claims-answer-lost', {
      first: {
        polled: first.polled,
        handedOff: first.handedOff,
        deferred: first.deferred,
        errors: first.errors,
      },
      next: { polled: next.polled, claimedElsewhere: next.claimedElsewhere },
      lastSlot: last.slotAt,
      callsOfLastJob: callsOfLast.length,
      queueOutcomes: queue.outcomes.map((o) => String(o.outcome)),
    });

    // Assess
    expect(callsOfLast).toHaveLength(1);
    expect(first.handedOff).toBe(0);
    expect(queue.sent.length).toBeGreaterThan(0);
    expect(first.errors).toBe(1);
    // The stored messages were delivered and polled their jobs; the next cycle left them to their claims.
    expect(queue.outcomes.filter((o) => o.outcome === 'polled')).toHaveLength(queue.sent.length);
    expect(next.claimedElsewhere).toBeGreaterThan(0);
    expect(h.logs.some((l) => l.message.startsWith('hand-off to the polls queue failed'))).toBe(true);
  });
});
