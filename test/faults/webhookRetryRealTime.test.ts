import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { MemoryNotificationQueue } from '../../dev/memoryNotificationQueue';
import { memoryTables } from '../../dev/memoryTables';
import { silentLogger } from '../../shared/logger';
import { NotificationService } from '../../shared/notifications/delivery';
import { LANES_TABLE, TableLaneStore } from '../../shared/notifications/lanes';
import { parseNotificationMessage } from '../../shared/notifications/messages';
import { RETRY_DELAYS_MS } from '../../shared/notifications/retrySchedule';
import type { JobEvent } from '../../shared/notifications/types';
import { createWebhookSender } from '../../shared/notifications/webhookSender';
import { TableOutbox } from '../../shared/store/outbox';
import { MemoryDeliveryLog, MemorySubscriptions, TestSigningSecrets } from '../support/memorySubscriptions';
import { ScaledClock } from '../support/scaledClock';
import { startWebhookReceiver, type WebhookReceiver } from '../../dev/webhookReceiver';

const SCALE = 20;
let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.stop();
});

describe('webhook retries in real time', () => {
  it('retries after about 5 s then 30 s (scaled 20×, real jitter), then delivers once', async () => {
    // Prepare: real timers, time 20× faster; the receiver fails twice.
    const clock = new ScaledClock(SCALE);
    receiver = await startWebhookReceiver(clock);
    receiver.answer = ({ n }) => (n <= 2 ? { status: 500 } : { status: 204 });
    const tables = memoryTables();
    const queue = new MemoryNotificationQueue(clock);
    const subscriptions = new MemorySubscriptions();
    subscriptions.add({ id: 'sub-rt', url: `${receiver.origin}/hook` });
    const secrets = new TestSigningSecrets();
    const lanes = new TableLaneStore(tables.factory(LANES_TABLE));
    const service = new NotificationService({
      outbox: new TableOutbox(tables.factory('jobs')),
      lanes,
      subscriptions,
      secrets,
      deliveryLog: new MemoryDeliveryLog(),
      queue,
      send: createWebhookSender({ timeoutMs: 10_000, allowedOrigins: [receiver.origin] }),
      clock,
      random: Math.random,
      logger: silentLogger,
    });
    queue.listen((m) => service.handle(parseNotificationMessage(m)));
    const jobId = 'a'.repeat(32);
    const event: JobEvent = {
      id: `evt_${jobId}_0000000000001abcdef0123_s`,
      type: 'job.statusChanged',
      timestamp: clock.now().toISOString(),
      data: { id: jobId, kind: 'face.personGroup', status: 'running', previousStatus: 'pending' },
    };
    await lanes.add('sub-rt', event);

    // Act
    await queue.send({ v: 1, type: 'delivery', subscriptionId: 'sub-rt', jobId });
    await queue.drain();

    // Assess: gaps on the scaled clock within the ±10 % jitter, plus whole-second visibility and up to 500 ms of
    // real timer and event-loop slack on a busy machine (×20 on the scaled clock); the next delay is far beyond.
    const [a, b, c] = receiver.received;
    expect(receiver.received).toHaveLength(3);
    for (const [gap, expected] of [
      [b!.at - a!.at, RETRY_DELAYS_MS[0]!],
      [c!.at - b!.at, RETRY_DELAYS_MS[1]!],
    ] as const) {
      expect(gap).toBeGreaterThanOrEqual(expected * 0.9 - 50);
      expect(gap).toBeLessThanOrEqual(expected * 1.1 + 1_000 + SCALE * 500);
      expect(gap).toBeLessThan(RETRY_DELAYS_MS[RETRY_DELAYS_MS.indexOf(expected) + 1]! * 0.9);
    }
    const payload = new Webhook(secrets.secretFor('sub-rt')).verify(c!.body, c!.headers);
    expect(payload).toMatchObject({ type: 'job.statusChanged' });
    expect(c!.headers['webhook-id']).toBe(a!.headers['webhook-id']);
  });
});
