import { NOTIFICATION_QUEUE_NAME, parseNotificationMessage } from '../shared/notifications/messages';
import { contextLogger, queueFunction } from './registry';
import { getConfig, getServices } from './services';

/**
 * The `notifications` queue (docs/spec.md §12): a `transition` message fans a job's stored transitions out to the
 * matching subscriptions (and Event Grid) and makes their first attempts; a `delivery` message (a retry) delivers one subscription's events of one job, in
 * order, with retries. A fault that should be retried throws (five failures → `notifications-poison`).
 */
export const notify = queueFunction('notify', {
  queueName: NOTIFICATION_QUEUE_NAME,
  // The polls queue's connection (docs/spec.md §9).
  connection: getConfig().pollQueue.connection,
  handler: async (message, context) => {
    const { notifications } = await getServices();
    await notifications.withLogger(contextLogger(context)).handle(parseNotificationMessage(message));
  },
});
