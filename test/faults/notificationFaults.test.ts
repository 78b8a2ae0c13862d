import { afterEach, describe, expect, it } from 'vitest';
import { notificationHarness, type NotificationHarness } from '../support/notificationHarness';
import { faceTraining, T0 } from '../support/unitServices';

let h: NotificationHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('notifications when the queue or the workers misbehave', () => {
  it('loses no event while the notifications queue is unreachable: the sweep hands it on once it is back', async () => {
    // Prepare
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    await h.register('g-1');
    h.queue.unreachable = true;

    // Act: the transition is stored while the queue refuses every message; then the queue comes back and the
    // sweep (on the poll schedule) runs after its grace period.
    await h.cycle();
    const whileDown = h.receiver.received.length;
    h.queue.unreachable = false;
    await h.clock.sleep(60_000);
    const early = await h.unit.services.notifications.sweep();
    await h.queue.drain();
    await h.clock.sleep(60_000);
    const swept = await h.unit.services.notifications.sweep();
    await h.queue.drain();
    const again = await h.unit.services.notifications.sweep();

    // Assess
    expect(whileDown).toBe(0);
    expect(early.jobs).toBe(0); // not before the grace period: the normal path may still be on it
    expect(swept.jobs).toBe(1);
    expect(again).toEqual({ jobs: 0, lanes: 0 });
    const delivered = h.receiver.delivered();
    expect(delivered.map((w) => h!.verify(w, 'sub-a').data['status'])).toEqual(['running']);
  });

  it('emits one event when two processes race on the same transition', async () => {
    // Prepare: two processes of the app on the same tables and clock; the job is due for both.
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    await h.register('g-1');
    const other = h.secondProcess();
    other.answer = () => faceTraining('running', new Date(T0));

    // Act: both cycles start at the same instant.
    await Promise.all([h.unit.services.poller.runCycle(), other.services.poller.runCycle()]);
    await h.queue.drain();

    // Assess: one transition stored, one event delivered, whichever process polled.
    const history = await h.unit.services.store.listHistory(
      (await h.unit.services.store.list({ top: 1 })).items[0]!.id,
      { top: 10 },
    );
    expect(history.items.map((e) => e.status)).toEqual(['running', 'pending']);
    expect(h.receiver.delivered()).toHaveLength(1);
    expect(h.verify(h.receiver.delivered()[0]!, 'sub-a').data['previousStatus']).toBe('pending');
  });

  it('delivers a transition once when its fan-out and delivery messages are handled twice', async () => {
    // Prepare
    h = await notificationHarness();
    h.subscriptions.add({ id: 'sub-a', url: `${h.receiver.origin}/hook` });
    const jobId = await h.register('g-1');
    await h.cycle();

    // Act: at-least-once queues: the same messages again.
    await h.unit.services.notifications.handle({ v: 1, type: 'transition', jobId });
    await h.unit.services.notifications.handle({ v: 1, type: 'delivery', subscriptionId: 'sub-a', jobId });
    await h.queue.drain();

    // Assess
    expect(h.receiver.received).toHaveLength(1);
  });
});
