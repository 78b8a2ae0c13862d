import { afterEach, describe, expect, it } from 'vitest';
import { RETRY_DELAYS_MS } from '../../shared/notifications/retrySchedule';
import { notificationHarness, type NotificationHarness } from '../support/notificationHarness';
import { faceTraining, T0 } from '../support/unitServices';

const HOUR = 3_600_000;
let h: NotificationHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Face answers `running` until `runningUntil`, then `succeeded`. */
function faceRun(harness: NotificationHarness, runningUntil: number): void {
  harness.unit.answer = () =>
    harness.clock.nowMs() < runningUntil
      ? faceTraining('running', new Date(T0))
      : faceTraining('succeeded', new Date(runningUntil));
}

describe('webhook delivery on the virtual clock', () => {
  it('delivers each transition once, signed, in order, with previousStatus pending on the first poll', async () => {
    // Prepare
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    const jobId = await h.register('g-1');
    faceRun(h, T0 + 90_000);

    // Act: first poll (pending → running), then one a minute later... until succeeded.
    await h.cycle();
    await h.clock.sleep(60_000);
    await h.cycle();
    await h.clock.sleep(60_000);
    await h.cycle();

    // Assess
    const payloads = h.receiver.delivered().map((w) => h!.verify(w, 'sub-a'));
    expect(payloads.map((p) => [p.type, p.data['previousStatus'], p.data['status']])).toEqual([
      ['job.statusChanged', 'pending', 'running'],
      ['job.statusChanged', 'running', 'succeeded'],
      ['job.completed', 'running', 'succeeded'],
    ]);
    expect(payloads[0]!.data['id']).toBe(jobId);
    const ids = h.receiver.delivered().map((w) => w.headers['webhook-id']);
    expect(new Set(ids).size).toBe(3);
    expect([...h.deliveryLog.records.values()].map((r) => r.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
  });

  it('delivers a transition within its fan-out, one queue hop after the poll, to every subscription', async () => {
    // Prepare: two receivers' subscriptions.
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook/a` });
    h.subscriptions.add({ id: 'sub-b', url: `${h.receiver.origin}/hook/b` });
    await h.register('g-1');
    faceRun(h, T0 + 90_000);

    // Act
    await h.cycle();

    // Assess: the only message was the transition's; both lanes were delivered by its fan-out.
    expect(h.queue.sent.map((s) => s.message.type)).toEqual(['transition']);
    expect(
      h.receiver
        .delivered()
        .map((w) => w.path)
        .sort(),
    ).toEqual(['/hook/a', '/hook/b']);
  });

  it('keeps delivering to a receiver down for hours, then delivers everything once, in order, when it is back', async () => {
    // Prepare: the receiver drops every connection for 5 hours.
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    await h.register('g-1');
    const backAt = T0 + 5 * HOUR;
    h.receiver.answer = () => (h!.clock.nowMs() < backAt ? 'drop' : { status: 200 });
    faceRun(h, T0 + 30 * 60_000);

    // Act: the job is polled every minute for an hour (two transitions while the receiver is down).
    for (let i = 0; i < 60; i++) {
      await h.unit.services.poller.runCycle();
      await h.clock.sleep(60_000);
    }
    await h.queue.drain();

    // Assess: every event once, in transition order, each after the receiver came back.
    const delivered = h.receiver.delivered();
    const payloads = delivered.map((w) => h!.verify(w, 'sub-a'));
    expect(payloads.map((p) => `${p.type}:${String(p.data['status'])}`)).toEqual([
      'job.statusChanged:running',
      'job.statusChanged:succeeded',
      'job.completed:succeeded',
    ]);
    expect(new Set(delivered.map((w) => w.headers['webhook-id'])).size).toBe(3);
    for (const w of delivered) expect(w.at).toBeGreaterThanOrEqual(backAt);
    // The first event's retries follow the schedule (5 s, 30 s, 2 min ... within ±10 %) until the receiver is back.
    const first = h.receiver.received.filter(
      (r) => r.headers['webhook-id'] === delivered[0]!.headers['webhook-id'],
    );
    const gaps = first.slice(1).map((r, i) => r.at - first[i]!.at);
    gaps.slice(0, 6).forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[i]! * 0.9);
      expect(gap).toBeLessThanOrEqual(RETRY_DELAYS_MS[i]! * 1.1 + 1_000);
    });
    expect([...h.deliveryLog.records.values()].every((r) => r.status === 'delivered')).toBe(true);
  });

  it('records the delivery as failed after the last retry, about a day later', async () => {
    // Prepare: the receiver answers 500 forever.
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    await h.register('g-1');
    h.receiver.answer = () => ({ status: 500 });

    // Act
    await h.cycle();

    // Assess: one attempt and eight retries, then failed.
    expect(h.receiver.received).toHaveLength(1 + RETRY_DELAYS_MS.length);
    const span = h.receiver.received.at(-1)!.at - h.receiver.received[0]!.at;
    const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(span).toBeGreaterThanOrEqual(total * 0.9);
    expect(span).toBeLessThanOrEqual(total * 1.1 + 10_000);
    const [record] = [...h.deliveryLog.records.values()];
    expect(record).toMatchObject({ status: 'failed', attempts: 9, lastHttpStatus: 500 });
  });

  it('waits as long as a 429 Retry-After asks (up to an hour) before the next attempt', async () => {
    // Prepare
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    await h.register('g-1');
    h.receiver.answer = ({ n }) =>
      n === 1
        ? { status: 429, headers: { 'retry-after': '120' } }
        : n === 2
          ? { status: 503, headers: { 'retry-after': '86400' } }
          : { status: 204 };

    // Act
    await h.cycle();

    // Assess: 120 s after the 429 (not 5 s), an hour after the 503 asking for a day.
    const [a, b, c] = h.receiver.received;
    expect(b!.at - a!.at).toBe(120_000);
    expect(c!.at - b!.at).toBe(3_600_000);
    expect(h.receiver.delivered()).toHaveLength(1);
  });

  it('disables the subscription on 410 Gone and sends it nothing more', async () => {
    // Prepare
    h = await notificationHarness();
    h.subscriptions.add({ id: 'gone', url: `${h.receiver.origin}/gone` });
    h.subscriptions.add({ id: 'live', url: `${h.receiver.origin}/live` });
    await h.register('g-1');
    h.receiver.answer = ({ path }) => (path === '/gone' ? { status: 410 } : { status: 204 });
    faceRun(h, T0 + 30_000);

    // Act
    await h.cycle();
    await h.clock.sleep(60_000);
    await h.cycle();

    // Assess
    expect(
      h.receiver.received.filter(
        (r) =>
          r.answer !== 'drop' &&
          'status' in (r.answer as object) &&
          (r.answer as { status: number }).status === 410,
      ),
    ).toHaveLength(1);
    expect(h.subscriptions.items.get('gone')!.disabled).toBeDefined();
    expect(h.receiver.delivered().map((r) => h!.verify(r, 'live').type)).toEqual([
      'job.statusChanged',
      'job.statusChanged',
      'job.completed',
    ]);
  });

  it('cuts a hanging receiver at the timeout and retries, while another subscription is served at once', async () => {
    // Prepare: a 300 ms timeout keeps the real wait short; the code path is the 10 s one.
    h = await notificationHarness({ timeoutMs: 300 });
    h.subscriptions.add({ id: 'slow', url: `${h.receiver.origin}/slow` });
    h.subscriptions.add({ id: 'fast', url: `${h.receiver.origin}/fast` });
    await h.register('g-1');
    let slowCalls = 0;
    h.receiver.answer = ({ path }) => (path === '/slow' && ++slowCalls === 1 ? 'hang' : { status: 204 });

    // Act
    await h.cycle();

    // Assess: the fast receiver got its event at once; the slow one's retry came about 5 s later and succeeded.
    const fast = h.receiver.received.filter((r) => r.path === '/fast');
    const slow = h.receiver.received.filter((r) => r.path === '/slow');
    expect(fast.map((r) => r.answer)).toEqual([{ status: 204 }]);
    expect(fast[0]!.at).toBeLessThan(slow[1]!.at);
    expect(slow.map((r) => r.answer)).toEqual(['hang', { status: 204 }]);
    expect(slow[1]!.at - slow[0]!.at).toBeGreaterThanOrEqual(4_500);
    expect(slow[1]!.at - slow[0]!.at).toBeLessThanOrEqual(6_500);
    h.verify(fast[0]!, 'fast');
    h.verify(slow[1]!, 'slow');
  });
});
