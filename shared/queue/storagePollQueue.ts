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
 * the job itself (the SDK's defaults wait minutes). Every try is cut at 10 s. `StoragePollQueue` makes the tries
 * itself (the client makes one), so it knows whether a try may have stored the message; such a try is not repeated.
 */
export const POLL_QUEUE_RETRY_OPTIONS = {
  maxTries: 3,
  tryTimeoutInMs: 10_000,
  retryDelayInMs: 200,
  maxRetryDelayInMs: 1_000,
} as const;

/** Errors raised before a request reached the service: the message was not stored. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

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
    ...options.clientOptions,
    // One try per call: the sender retries (StoragePollQueue.send) and so knows what each try did.
    retryOptions: { maxTries: 1, tryTimeoutInMs: POLL_QUEUE_RETRY_OPTIONS.tryTimeoutInMs },
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
    // Whether a failed try may have stored the message (it was sent, and no answer said it was refused).
    let maybeStored = false;
    const { maxTries, retryDelayInMs, maxRetryDelayInMs } = POLL_QUEUE_RETRY_OPTIONS;
    for (let attempt = 1; ; attempt++) {
      let sent = false;
      const sendOnce = async (): Promise<void> => {
        await this.ensureQueue(options.abortSignal);
        options.abortSignal?.throwIfAborted();
        sent = true;
        await this.client.sendMessage(text, sendOptions);
      };
      try {
        try {
          await sendOnce();
        } catch (error) {
          if (!isQueueNotFound(error)) throw error;
          // Deleted since it was created (the answer says nothing was stored): create it again, once.
          this.created = undefined;
          sent = false;
          await sendOnce();
        }
        return;
      } catch (error) {
        maybeStored ||= sent && mayHaveStored(error);
        // A try that may have stored the message is not repeated: a second copy could be polled on its own.
        if (attempt >= maxTries || maybeStored || !isRetriable(error) || options.abortSignal?.aborted)
          throw this.unavailable('did not take the message', error, maybeStored);
      }
      const delay = Math.min(maxRetryDelayInMs, retryDelayInMs * 2 ** (attempt - 1));
      await this.clock.sleep(delay, options.abortSignal).catch((error: unknown) => {
        throw this.unavailable('did not take the message', error, maybeStored);
      });
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

  private unavailable(what: string, error: unknown, maybeStored = false): QueueUnavailableError {
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
      maybeStored,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
    });
  }
}

/**
 * Whether a send that failed after its request went out may have stored the message: it may unless the service
 * answered with a refusal (4xx but 408, or 503 Server Busy: throttled before it was processed) or the connection
 * was never made (refused, unknown host).
 */
function mayHaveStored(error: unknown): boolean {
  const status = error instanceof RestError ? error.statusCode : undefined;
  if (status !== undefined) return !((status >= 400 && status < 500 && status !== 408) || status === 503);
  const code = (error as { code?: unknown } | undefined)?.code;
  return !(typeof code === 'string' && NOT_SENT_CODES.has(code));
}

/** A refusal (4xx but 408 and 429) is not tried again; anything else is. */
function isRetriable(error: unknown): boolean {
  const status = error instanceof RestError ? error.statusCode : undefined;
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

function isQueueNotFound(error: unknown): boolean {
  return (
    error instanceof RestError &&
    error.statusCode === 404 &&
    (error.details as { errorCode?: string } | undefined)?.errorCode === 'QueueNotFound'
  );
}
