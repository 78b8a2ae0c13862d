/**
 * The hand-off (docs/spec.md §5): a cycle claims its due jobs with budget slots up to the next cycle; those whose
 * slot falls after its call window go to the `polls` queue with that slot, and the queue worker polls each there
 * through the same per-job poll. An in-memory queue on the virtual clock stands for the Storage queue.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spacingMs } from '../../shared/poller/budget';
import { writeMarginMs, type CycleReport, type Poller } from '../../shared/poller/poller';
import { MINUTE, startHarness, stopIdentityEndpoint, T0, type Harness } from '../support/faultHarness';
import { MemoryPollQueue } from '../../dev/memoryPollQueue';

const connectionString = inject('azuriteConnectionString');
const JOBS = 30;
const BUDGET = { calls: 20, periodMs: MINUTE };

async function startWithJobs(): Promise<Harness> {
  const h = await startHarness({ connectionString, simulators: 1, budget: BUDGET });
  await h.registerTrainingGroups('h', JOBS, { trainingMs: 120 * MINUTE });
  return h;
}

/** Slots of one minute at the budget's spacing from T0: those inside the call window, and all of them. */
function expectedSlots(h: Harness): { inWindow: number; all: number } {
  const spacing = spacingMs(BUDGET);
  const lastCallAt =
    h.settings.cycleDeadlineMs - h.settings.upstreamTimeoutMs - writeMarginMs(h.settings.cycleDeadlineMs);
  return { inWindow: Math.floor(lastCallAt / spacing) + 1, all: Math.ceil(MINUTE / spacing) };
}

afterAll(async () => {
  await stopIdentityEndpoint();
});

describe('a cycle with the polls queue', () => {
  let h: Harness;
  let queue: MemoryPollQueue;
  let poller: Poller;
  let report: CycleReport;

  beforeAll(async () => {
    h = await startWithJobs();
    queue = new MemoryPollQueue(h.clock);
    poller = h.newPoller({ pollQueue: queue });
    queue.listen((message, options) => poller.pollQueued(message, options));
    // Act (shared): one cycle at T0, then the queue's deliveries at their slots.
    report = await poller.runCycle();
    await queue.drain();
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('spends the whole minute of budget: the window in the cycle, the rest through the queue', () => {
    // Prepare
    const { inWindow, all } = expectedSlots(h);
    const calls = h.sims[0]!.calls;

    // Act
    const inMinute = calls.filter((c) => c.at.getTime() < T0 + MINUTE);

    // Assess
    expect(report.polled).toBe(inWindow);
    expect(report.handedOff).toBe(all - inWindow);
    expect(inMinute).toHaveLength(all);
    expect(new Set(inMinute.map((c) => c.path)).size).toBe(all);
    expect(h.sims[0]!.maxCallsInWindow(MINUTE)).toBeLessThanOrEqual(BUDGET.calls);
  });

  it('makes each handed-off call at its reserved slot, and stores its outcome', async () => {
    // Prepare
    const slots = queue.sent.map((m) => Date.parse(m.slotAt));

    // Act
    const callTimes = h.sims[0]!.calls.map((c) => c.at.getTime());
    const stored = (await h.rawStore.list({ top: 100 })).items;

    // Assess
    for (const slot of slots) expect(callTimes).toContain(slot);
    expect(queue.outcomes.map((o) => o.outcome)).toEqual(queue.sent.map(() => 'polled'));
    expect(stored.filter((j) => j.state.status === 'running')).toHaveLength(expectedSlots(h).all);
  });

  it('does nothing with a message delivered twice: its claim is gone', async () => {
    // Prepare
    const before = h.sims[0]!.calls.length;

    // Act
    await queue.redeliver(queue.sent[0]!);

    // Assess
    expect(queue.outcomes.at(-1)?.outcome).toBe('claimGone');
    expect(h.sims[0]!.calls).toHaveLength(before);
  });

  it('ignores a message that is not a poll message, without retrying it', async () => {
    // Act
    const outcome = await poller.pollQueued({ v: 1, jobId: 'not-an-id', claim: 'x', slotAt: 'soon' });

    // Assess
    expect(outcome).toBe('invalid');
  });
});

describe('a cycle without a queue', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startWithJobs();
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('reserves no slot after its call window: the rest stays due for the next cycle', async () => {
    // Act
    const report = await h.cycleAt(T0);

    // Assess
    expect(report.polled).toBe(expectedSlots(h).inWindow);
    expect(report.handedOff).toBe(0);
    expect(report.deferred).toBe(JOBS - expectedSlots(h).inWindow);
  });
});
