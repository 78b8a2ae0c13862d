/**
 * Notifications on the virtual clock: the app's services over in-memory tables (unitServices), an in-memory
 * `notifications` queue run by the real `NotificationService`, in-memory subscriptions, and a real local webhook
 * receiver reached through the real sender (sockets, timeout, address check). Deliveries are verified with the
 * `standardwebhooks` library at the virtual instant they were received.
 */
import { expect, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { MemoryNotificationQueue } from '../../dev/memoryNotificationQueue';
import { memoryTables } from '../../dev/memoryTables';
import { trackAll, VirtualClock } from '../../dev/virtualClock';
import type { EventPublisher } from '../../shared/notifications/delivery';
import type { Resolver } from '../../shared/notifications/addressCheck';
import { LANES_TABLE, TableLaneStore } from '../../shared/notifications/lanes';
import { parseNotificationMessage } from '../../shared/notifications/messages';
import { createWebhookSender, type SendWebhook } from '../../shared/notifications/webhookSender';
import { TableOutbox } from '../../shared/store/outbox';
import { MemoryDeliveryLog, MemorySubscriptions, TestSigningSecrets } from './memorySubscriptions';
import { ORIGIN, T0, unitServices, type UnitServices } from './unitServices';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../dev/webhookReceiver';

export interface NotificationHarness {
  unit: UnitServices;
  clock: VirtualClock;
  queue: MemoryNotificationQueue;
  subscriptions: MemorySubscriptions;
  secrets: TestSigningSecrets;
  deliveryLog: MemoryDeliveryLog;
  /** The transitions' events waiting to be handed on (the app's `jobs` table). */
  outbox: TableOutbox;
  receiver: WebhookReceiver;
  /** Registers a Face person group job; returns its id. */
  register(personGroupId: string): Promise<string>;
  /** The same app in a second process (same tables, clock, queue and subscriptions). */
  secondProcess(): UnitServices;
  /** Runs one poll cycle, then lets the queue settle. */
  cycle(): Promise<void>;
  /** Verifies a received webhook with the reference library (at its virtual receipt time); returns its payload. */
  verify(webhook: ReceivedWebhook, subscriptionId: string): { type: string; data: Record<string, unknown> };
  stop(): Promise<void>;
}

export async function notificationHarness(
  options: {
    timeoutMs?: number;
    resolve?: Resolver;
    send?: (inner: SendWebhook) => SendWebhook;
    /** Event Grid too (tracked on the harness clock). */
    eventGrid?: (clock: VirtualClock) => EventPublisher;
  } = {},
): Promise<NotificationHarness> {
  const clock = new VirtualClock(T0);
  const tables = memoryTables();
  const queue = new MemoryNotificationQueue(clock);
  const subscriptions = new MemorySubscriptions();
  const secrets = new TestSigningSecrets();
  const deliveryLog = new MemoryDeliveryLog();
  const receiver = await startWebhookReceiver(clock);
  const sender = createWebhookSender({
    timeoutMs: options.timeoutMs ?? 10_000,
    allowedOrigins: [receiver.origin],
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  const tracked: SendWebhook = (url, request) => clock.track(sender(url, request));
  const processOf = (): UnitServices =>
    unitServices({
      clock,
      tables,
      settings: { ALLOWED_WEBHOOK_ORIGINS: receiver.origin },
      notifications: {
        queue,
        subscriptions: trackAll(subscriptions, clock),
        secrets,
        deliveryLog: trackAll(deliveryLog, clock),
        send: options.send ? options.send(tracked) : tracked,
        lanes: trackAll(new TableLaneStore(tables.factory(LANES_TABLE)), clock),
        outbox: trackAll(new TableOutbox(tables.factory('jobs')), clock),
        ...(options.eventGrid ? { eventGrid: options.eventGrid(clock) } : {}),
      },
    });
  const unit = processOf();
  queue.listen((message) => unit.services.notifications.handle(parseNotificationMessage(message)));
  return {
    unit,
    clock,
    queue,
    subscriptions,
    secrets,
    deliveryLog,
    outbox: new TableOutbox(tables.factory('jobs')),
    receiver,
    register: async (personGroupId) => {
      const response = await unit.services.api.register(
        JSON.stringify({
          kind: 'face.personGroup',
          endpoint: ORIGIN,
          keySecretName: 'face-key',
          personGroupId,
        }),
        'application/json',
        'http://localhost:7071',
      );
      return (response.jsonBody as { id: string }).id;
    },
    secondProcess: processOf,
    cycle: async () => {
      await unit.services.poller.runCycle();
      await queue.drain();
    },
    verify: (webhook, subscriptionId) => {
      const spy = vi.spyOn(Date, 'now').mockReturnValue(webhook.at);
      try {
        const payload = new Webhook(secrets.secretFor(subscriptionId)).verify(webhook.body, webhook.headers);
        expect(payload).toBeTypeOf('object');
        return payload as { type: string; data: Record<string, unknown> };
      } finally {
        spy.mockRestore();
      }
    },
    stop: () => receiver.stop(),
  };
}
