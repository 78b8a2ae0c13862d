import type { QueueClient } from '@azure/storage-queue';
import { QueueUnavailableError } from '../errors';
import { encodeQueueMessage } from '../queue/message';
import { MAX_VISIBILITY_TIMEOUT_SECONDS } from '../queue/storagePollQueue';
import type { NotificationMessage, NotificationQueue } from './messages';

/**
 * The `notifications` queue over a Storage `QueueClient` (built like the polls queue's, same connection): JSON
 * then base64, created on first use. A failure surfaces as QueueUnavailableError.
 */
export class StorageNotificationQueue implements NotificationQueue {
  private created: Promise<void> | undefined;

  constructor(private readonly client: QueueClient) {}

  async initialize(): Promise<void> {
    await this.ensure();
  }

  async send(
    message: NotificationMessage,
    options: { delayMs?: number; abortSignal?: AbortSignal } = {},
  ): Promise<void> {
    const visibilityTimeout = Math.min(
      Math.max(Math.ceil((options.delayMs ?? 0) / 1000), 0),
      MAX_VISIBILITY_TIMEOUT_SECONDS,
    );
    try {
      await this.ensure();
      await this.client.sendMessage(encodeQueueMessage(message), {
        visibilityTimeout,
        // Lives a week past its delay (the longest retry wait is 12 h): nothing expires while still wanted.
        messageTimeToLive: visibilityTimeout + 7 * 24 * 3600,
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
    } catch (error) {
      throw new QueueUnavailableError(
        `The ${this.client.name} queue did not take the message`,
        this.client.name,
        { cause: error },
      );
    }
  }

  private ensure(): Promise<void> {
    this.created ??= this.client
      .createIfNotExists()
      .then(() => undefined)
      .catch((error: unknown) => {
        this.created = undefined;
        throw error;
      });
    return this.created;
  }
}
