/**
 * The `notifications` queue's messages (docs/spec.md §12), JSON then base64 like the `polls` queue's. Two kinds:
 * `transition` (a job has stored transitions waiting in the outbox: fan them out) and `delivery` (deliver the
 * oldest waiting event of one job to one subscription). No SDK here: the function file imports this at cold start.
 */
import { z } from 'zod';
import { parseQueueMessage } from '../queue/message';

/** The queue of the `notify` function (its poison queue: `notifications-poison`). */
export const NOTIFICATION_QUEUE_NAME = 'notifications';

export type NotificationMessage =
  | { v: 1; type: 'transition'; jobId: string }
  | { v: 1; type: 'delivery'; subscriptionId: string; jobId: string };

const jobId = z.string().regex(/^[0-9a-f]{32}$/, 'must be a job id');
const schema = z.discriminatedUnion('type', [
  z.strictObject({ v: z.literal(1), type: z.literal('transition'), jobId }),
  z.strictObject({
    v: z.literal(1),
    type: z.literal('delivery'),
    subscriptionId: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9_-]+$/, 'must be a subscription id'),
    jobId,
  }),
]);

/** Reads a message as the trigger hands it over (the parsed object, or its JSON text). */
export function parseNotificationMessage(input: unknown): NotificationMessage {
  return parseQueueMessage(input, schema, {
    name: NOTIFICATION_QUEUE_NAME,
    describes: 'a notification message',
  });
}

/** Where notification messages go (a Storage queue in Azure and under `npm start`). */
export interface NotificationQueue {
  /** Sends `message`, invisible for `delayMs` (rounded up to whole seconds, at most 7 days). */
  send(
    message: NotificationMessage,
    options?: { delayMs?: number; abortSignal?: AbortSignal },
  ): Promise<void>;
}
