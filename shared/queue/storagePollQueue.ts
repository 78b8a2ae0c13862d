import type { TokenCredential } from '@azure/identity';
import { QueueClient, RestError, type StoragePipelineOptions } from '@azure/storage-queue';
import type { Clock } from '../clock';
import { QueueUnavailableError } from '../errors';
import { encodeQueueMessage, MAX_QUEUE_MESSAGE_BYTES, POLL_QUEUE_NAME } from './message';
import type { PollMessage, PollQueue } from './types';

/** The longest a Storage queue message may stay invisible (7 days). */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 7 * 24 * 3600;

/**
 * A message shows this long before its slot, so that a listener polling an idle queue every second
 * (`maxPollingInterval`) holds it when the slot comes; the worker waits for the slot itself. Shown at the slot
 * (or a second after, rounded up), it reached the worker 1-3 s late, past the late allowance of a per-minute
 * budget (600 ms), and the job waited for the next cycle (benchmark 8).
 */
export const SHOW_BEFORE_SLOT_MS = 2_000;

/**
 * How long a message lives past its slot: a message nobody took by then is dropped by the service. Nothing is lost
 * with it: its claim has expired long before, so the job is due again for the next cycle.
 */
export const MESSAGE_TTL_AFTER_SLOT_SECONDS = 24 * 3600;

/**
 * Retries inside one send: few and short, so an unreachable queue surfaces while the cycle still has time to poll
 * the job itself (the SDK's defaults wait minutes). Every try is cut at 10 s.
 */
export const POLL_QUEUE_RETRY_OPTIONS = {
  maxTries: 3,
  tryTimeoutInMs: 10_000,
  retryDelayInMs: 200,
  maxRetryDelayInMs: 1_000,
} as const;

export type PollQueueClientOptions = (
  { connectionString: string } | { queueServiceUri: string; credential: TokenCredential }
) & {
  /** Queue name; default `polls`. */
  queueName?: string;
  /** Extra pipeline options (retries, policies). */
  clientOptions?: StoragePipelineOptions;
};

/** A QueueClient for the polls queue from a connection string (local / Azurite) or an endpoint and a credential. */
export function createPollQueueClient(options: PollQueueClientOptions): QueueClient {
  const queueName = options.queueName ?? POLL_QUEUE_NAME;
  const clientOptions: StoragePipelineOptions = {
    retryOptions: POLL_QUEUE_RETRY_OPTIONS,
    ...options.clientOptions,
  };
  if ('connectionString' in options) {
    return new QueueClient(options.connectionString, queueName, clientOptions);
  }
  const url = `${options.queueServiceUri.replace(/\/+$/, '')}/${encodeURIComponent(queueName)}`;
  return new QueueClient(url, options.credential, clientOptions);
}

/**
 * The polls queue over a Storage `QueueClient`: each message is JSON then base64 (what the Functions trigger
 * decodes by default), invisible until shortly before its slot (the worker waits for the slot). The queue is created on first use (idempotent, and again if it
 * was deleted). Every failure surfaces as QueueUnavailableError: the caller keeps the job due.
 */
export class StoragePollQueue implements PollQueue {
  private readonly client: QueueClient;
  private readonly clock: Clock;
  private created: Promise<void> | undefined;

  constructor(options: { client: QueueClient; clock: Clock }) {
    this.client = options.client;
    this.clock = options.clock;
  }

  get queueName(): string {
    return this.client.name;
  }

  /** Creates the queue if it is missing. Safe to call at start and again at any time. */
  async initialize(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    try {
      await this.ensureQueue(options.abortSignal);
    } catch (error) {
      throw this.unavailable('could not be created', error);
    }
  }

  async send(message: PollMessage, options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    const text = encodeQueueMessage(message);
    if (Buffer.byteLength(text) > MAX_QUEUE_MESSAGE_BYTES) {
      throw new RangeError(`A ${this.queueName} message is over ${MAX_QUEUE_MESSAGE_BYTES} bytes`);
    }
    const visibilityTimeout = this.visibilityTimeoutFor(message.slotAt);
    const sendOptions = {
      visibilityTimeout,
      messageTimeToLive: visibilityTimeout + MESSAGE_TTL_AFTER_SLOT_SECONDS,
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    };
    try {
      await this.ensureQueue(options.abortSignal);
      try {
        await this.client.sendMessage(text, sendOptions);
      } catch (error) {
        if (!isQueueNotFound(error)) throw error;
        // Deleted since it was created: create it again, once.
        this.created = undefined;
        await this.ensureQueue(options.abortSignal);
        await this.client.sendMessage(text, sendOptions);
      }
    } catch (error) {
      throw this.unavailable('did not take the message', error);
    }
  }

  /** Whole seconds until SHOW_BEFORE_SLOT_MS before the slot, rounded down; 0 when past; at most 7 days. */
  private visibilityTimeoutFor(slotAt: string): number {
    const slot = Date.parse(slotAt);
    if (Number.isNaN(slot)) throw new RangeError(`slotAt '${slotAt}' is not a time`);
    const seconds = Math.floor((slot - SHOW_BEFORE_SLOT_MS - this.clock.now().getTime()) / 1000);
    return Math.min(Math.max(seconds, 0), MAX_VISIBILITY_TIMEOUT_SECONDS);
  }

  private ensureQueue(abortSignal: AbortSignal | undefined): Promise<void> {
    this.created ??= this.client
      .createIfNotExists(abortSignal ? { abortSignal } : {})
      .then(() => undefined)
      .catch((error: unknown) => {
        this.created = undefined; // try again on the next send
        throw error;
      });
    return this.created;
  }

  private unavailable(what: string, error: unknown): QueueUnavailableError {
    const httpStatus = error instanceof RestError ? error.statusCode : undefined;
    const reason =
      error instanceof Error && error.name === 'AbortError'
        ? 'aborted'
        : httpStatus !== undefined
          ? `HTTP ${httpStatus}`
          : error instanceof RestError && error.code
            ? error.code
            : 'unreachable';
    return new QueueUnavailableError(`The ${this.queueName} queue ${what} (${reason})`, this.queueName, {
      cause: error,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
    });
  }
}

function isQueueNotFound(error: unknown): boolean {
  return (
    error instanceof RestError &&
    error.statusCode === 404 &&
    (error.details as { errorCode?: string } | undefined)?.errorCode === 'QueueNotFound'
  );
}
