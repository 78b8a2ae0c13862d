import { POLL_QUEUE_NAME } from '../shared/queue/message';
import { contextLogger, queueFunction } from './registry';
import { getConfig, getServices } from './services';

/**
 * A poll handed off by a cycle to the `polls` queue, made at its reserved budget slot (docs/spec.md §5). A message
 * whose claim is gone does nothing; a fault that should be retried throws (five failures → `polls-poison`).
 * Metrics are flushed after each message, as after each timer run: an instance scaled in afterwards loses nothing.
 */
export const pollJob = queueFunction('pollJob', {
  queueName: POLL_QUEUE_NAME,
  // `POLL_QUEUE` when any POLL_QUEUE setting is given, else `AzureWebJobsStorage` (the host does not fall back).
  connection: getConfig().pollQueue.connection,
  handler: async (message, context) => {
    const { poller, flushMetrics } = await getServices();
    const logger = contextLogger(context);
    const dequeueCount = Number(context.triggerMetadata?.['dequeueCount']);
    try {
      await poller
        .withLogger(logger)
        .pollQueued(message, Number.isInteger(dequeueCount) ? { dequeueCount } : {});
    } finally {
      await flushMetrics(logger);
    }
  },
});
