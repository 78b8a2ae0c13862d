/**
 * Events only when something listens (docs/spec.md §12): without a subscription or Event Grid, a transition stores
 * no outbox row and queues no message; a subscription created through this instance gets the next transition's
 * event, and one created through another instance within `LISTENERS_RECHECK_MS`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LISTENERS_RECHECK_MS } from '../../shared/notifications/listeners';
import { notificationHarness, type NotificationHarness } from '../support/notificationHarness';
import { faceTraining } from '../support/unitServices';

let h: NotificationHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function subscribeThrough(unit: NotificationHarness['unit'], origin: string): Promise<string> {
  const response = await unit.services.subscriptions.create(
    JSON.stringify({ url: `${origin}/hook` }),
    'application/json',
    'http://localhost:7071',
  );
  expect(response.status).toBe(201);
  return (response.jsonBody as { id: string }).id;
}

describe('events when nothing listens', () => {
  it('stores the transition without an event and queues nothing while there is no subscription', async () => {
    // Prepare
    h = await notificationHarness();
    const jobId = await h.register('g-1');

    // Act
    await h.cycle();
    const history = await h.unit.services.store.listHistory(jobId, { top: 10 });
    const outbox = await h.outbox.listForJob(jobId);

    // Assess
    expect(history.items.map((e) => e.status)).toEqual(['running', 'pending']);
    expect(outbox).toEqual([]);
    expect(h.queue.sent).toEqual([]);
  });

  it('delivers the next transition to a subscription created through this instance at once', async () => {
    // Prepare: a first transition with nobody listening, then a subscription through the API.
    h = await notificationHarness();
    await h.register('g-1');
    await h.cycle();
    const subscriptionId = await subscribeThrough(h.unit, h.receiver.origin);
    h.unit.answer = () => faceTraining('succeeded');

    // Act
    await h.clock.sleep(60_000);
    await h.cycle();

    // Assess
    const delivered = h.receiver.delivered().map((w) => h!.verify(w, subscriptionId));
    expect(delivered.map((e) => [e.type, e.data['status']])).toEqual([
      ['job.statusChanged', 'succeeded'],
      ['job.completed', 'succeeded'],
    ]);
  });

  it('delivers to a subscription created through another instance once this one looks again', async () => {
    // Prepare: this instance saw no subscription; another instance creates one.
    h = await notificationHarness();
    await h.register('g-1');
    await h.cycle();
    const subscriptionId = await subscribeThrough(h.secondProcess(), h.receiver.origin);
    h.unit.answer = () => faceTraining('succeeded');

    // Act
    await h.clock.sleep(Math.max(60_000, LISTENERS_RECHECK_MS));
    await h.cycle();

    // Assess
    const delivered = h.receiver.delivered().map((w) => h!.verify(w, subscriptionId));
    expect(delivered.map((e) => [e.type, e.data['status']])).toEqual([
      ['job.statusChanged', 'succeeded'],
      ['job.completed', 'succeeded'],
    ]);
  });
});
