/**
 * Webhooks through the local host (docs/spec.md §12): a subscription made through the API, a transition stored by a
 * poll cycle, the `notifications` queue on Azurite run by the local host's queue trigger (`notify`), and the signed
 * delivery to a real local receiver, verified by the `standardwebhooks` library.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../shared/clock';
import { startTestStack, type TestStack } from '../support/testStack';
import { startWebhookReceiver, type WebhookReceiver } from '../../dev/webhookReceiver';

let t: TestStack;
let receiver: WebhookReceiver;
const minutes = (n: number): Date => new Date(Date.now() + n * 60_000);

beforeAll(async () => {
  receiver = await startWebhookReceiver(systemClock);
  t = await startTestStack({
    simulators: { main: {} },
    settings: { ALLOWED_WEBHOOK_ORIGINS: receiver.origin },
  });
  t.sims.main!.addFaceGroup('wh-done', {
    createdAt: minutes(-10),
    trainings: [{ startAt: minutes(-5), durationMs: 60_000, outcome: 'succeeded' }],
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await receiver?.stop();
});

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

describe('webhooks on the local stack', () => {
  it('delivers a transition to a subscription made through the API, signed as Standard Webhooks says', async () => {
    // Prepare
    const created = await t.call('/api/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.origin}/hooks/training` }),
    });
    const { id: subscriptionId, secret } = created.body as { id: string; secret: string };
    const jobId = await t.register('main', { kind: 'face.personGroup', personGroupId: 'wh-done' });

    // Act: the first poll finds the finished training (pending → succeeded: statusChanged and completed).
    await t.runCycle();
    await until(() => receiver.delivered().length >= 2, 20_000);

    // Assess
    const payloads = receiver
      .delivered()
      .map(
        (w) =>
          new Webhook(secret).verify(w.body, w.headers) as { type: string; data: Record<string, unknown> },
      );
    expect(payloads.map((p) => p.type)).toEqual(['job.statusChanged', 'job.completed']);
    expect(payloads[0]!.data).toMatchObject({ id: jobId, status: 'succeeded', previousStatus: 'pending' });
    const deliveries = await t.call(`/api/subscriptions/${subscriptionId}/deliveries`);
    const records = (deliveries.body as { value: { eventId: string; status: string }[] }).value;
    expect(records.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(new Set(records.map((r) => r.eventId))).toEqual(
      new Set(receiver.delivered().map((w) => w.headers['webhook-id'])),
    );
  });
});
