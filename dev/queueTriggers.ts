/**
 * Storage-queue triggers for the local host, run as the Functions host's queue listener runs them (Storage
 * extension 5.x): poll each queue with a randomized exponential back-off up to `maxPollingInterval` (at once again
 * while messages keep coming), take up to `batchSize` messages and fetch more when no more than
 * `newBatchThreshold` are still running; decode the text (`messageEncoding`, base64 by default) and hand the
 * handler the JSON-parsed value when the text is JSON, with `triggerMetadata` (`dequeueCount`, `id`,
 * `insertionTime`, `expirationTime`, `nextVisibleTime`, `popReceipt`, `queueTrigger`). The message stays invisible
 * while its handler runs (the lease is renewed); success deletes it; a failure makes it visible again after
 * `visibilityTimeout`, and the `maxDequeueCount`-th failure moves it to `<queue>-poison`. A text that is not valid
 * base64 goes to the poison queue at once, without running the function, as the extension does.
 */
import type { InvocationContext } from '@azure/functions';
import { RestError, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import type { FunctionDefinition } from '../functions/registry';
import {
  decodeMessageText,
  loadHostQueuesExtension,
  queueClient,
  resolveQueueConnection,
  triggerValue,
  type QueuesExtensionSettings,
} from './queueSettings';

/** The host's shortest wait between two polls of an idle queue. */
const MIN_POLLING_INTERVAL_MS = 100;

/** How long a received message stays invisible while its handler runs; renewed at half of it. */
const DEFAULT_LEASE_MS = 10 * 60_000;

type QueueDefinition = Extract<FunctionDefinition, { trigger: 'storageQueue' }>;

export interface QueueTriggerLog {
  functionName: string;
  invocationId: string;
  level: 'information' | 'warning' | 'error';
  message: string;
}

export interface QueueTriggerOptions {
  functions: readonly FunctionDefinition[];
  /** Resolves `connection` and `%NAME%` in queue names, as the host does with app settings. */
  appSettings: Readonly<Record<string, string | undefined>>;
  /** Builds the invocation context (the local host's, so logs go where its other functions' go). */
  createContext: (functionName: string, triggerMetadata: Record<string, unknown>) => InvocationContext;
  /** The host's own lines (failures, poison moves). */
  onLog?: (entry: QueueTriggerLog) => void;
  /** Default: host.json `extensions.queues`. */
  settings?: QueuesExtensionSettings;
  /** Lower `maxPollingInterval` (local latency, tests). */
  maxPollingIntervalMs?: number;
  /** Invisibility of a message while its handler runs (default 10 min, renewed at half). */
  leaseMs?: number;
}

export interface QueueTriggers {
  /** Stops polling and waits for running handlers to finish (their messages are then deleted or released). */
  stop(): Promise<void>;
}

/** Starts one listener per `storageQueue` row of the function table. */
export function startQueueTriggers(options: QueueTriggerOptions): QueueTriggers {
  const base = options.settings ?? loadHostQueuesExtension();
  const settings: QueuesExtensionSettings = {
    ...base,
    maxPollingIntervalMs: Math.min(base.maxPollingIntervalMs, options.maxPollingIntervalMs ?? Infinity),
  };
  const log = (entry: Omit<QueueTriggerLog, 'invocationId'> & { invocationId?: string }): void =>
    options.onLog?.({ invocationId: '', ...entry });
  const listeners: QueueListener[] = [];
  for (const definition of options.functions) {
    if (definition.trigger !== 'storageQueue') continue;
    const queueName = definition.queueName.replace(
      /%([^%]+)%/g,
      (_, name: string) => options.appSettings[name] ?? '',
    );
    const connection = resolveQueueConnection(definition.connection, options.appSettings);
    if (!connection) {
      // The host indexes the function in error and runs the others.
      log({
        functionName: definition.name,
        level: 'error',
        message: `Storage account connection string '${definition.connection}' does not exist. Make sure that it is a defined App Setting.`,
      });
      continue;
    }
    listeners.push(
      new QueueListener({
        definition,
        queue: queueClient(connection, queueName),
        poison: queueClient(connection, `${queueName}-poison`),
        settings,
        leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
        createContext: options.createContext,
        log,
      }),
    );
  }
  for (const listener of listeners) listener.start();
  return { stop: async () => void (await Promise.all(listeners.map((l) => l.stop()))) };
}

class QueueListener {
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly stopped = new Promise<void>((resolve) =>
    this.stopping.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  private loop: Promise<void> | undefined;
  private poisonCreated: Promise<unknown> | undefined;

  constructor(
    private readonly o: {
      definition: QueueDefinition;
      queue: QueueClient;
      poison: QueueClient;
      settings: QueuesExtensionSettings;
      leaseMs: number;
      createContext: QueueTriggerOptions['createContext'];
      log: (entry: Omit<QueueTriggerLog, 'invocationId'> & { invocationId?: string }) => void;
    },
  ) {}

  start(): void {
    this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await Promise.allSettled([...this.running]);
  }

  private async poll(): Promise<void> {
    const { settings } = this.o;
    const signal = this.stopping.signal;
    let delay = MIN_POLLING_INTERVAL_MS;
    let failing = false;
    while (!signal.aborted) {
      if (this.running.size > settings.newBatchThreshold) {
        await Promise.race([...this.running, this.stopped]);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        const response = await this.o.queue.receiveMessages({
          numberOfMessages: settings.batchSize,
          visibilityTimeout: Math.ceil(this.o.leaseMs / 1000),
          abortSignal: signal,
        });
        messages = response.receivedMessageItems;
        failing = false;
      } catch (error) {
        if (signal.aborted) break;
        // A queue that does not exist yet is an empty queue; anything else is logged once per outage.
        if (!isQueueNotFound(error) && !failing) {
          this.o.log({
            functionName: this.o.definition.name,
            level: 'error',
            message: `queue ${this.o.queue.name} could not be polled: ${String(error)}`,
          });
        }
        failing = !isQueueNotFound(error);
      }
      for (const message of messages) {
        const run = this.process(message).finally(() => this.running.delete(run));
        this.running.add(run);
      }
      if (messages.length > 0) {
        delay = MIN_POLLING_INTERVAL_MS;
        continue;
      }
      await sleep(delay * (0.8 + Math.random() * 0.4), signal);
      delay = Math.min(delay * 2, settings.maxPollingIntervalMs);
    }
  }

  private async process(message: DequeuedMessageItem): Promise<void> {
    const { definition, settings } = this.o;
    const functionName = definition.name;
    if (message.dequeueCount > settings.maxDequeueCount)
      return this.moveToPoison(message, message.popReceipt);
    const text = decodeMessageText(message.messageText, settings.messageEncoding);
    if (text === undefined) {
      this.o.log({
        functionName,
        level: 'error',
        message: `Message ${message.messageId} on queue '${this.o.queue.name}' is not valid base64 (host.json messageEncoding is base64): moving it to the poison queue`,
      });
      return this.moveToPoison(message, message.popReceipt);
    }
    const value = triggerValue(text);
    const context = this.o.createContext(functionName, {
      dequeueCount: message.dequeueCount,
      expirationTime: message.expiresOn.toISOString(),
      id: message.messageId,
      insertionTime: message.insertedOn.toISOString(),
      nextVisibleTime: message.nextVisibleOn.toISOString(),
      popReceipt: message.popReceipt,
      queueTrigger: value,
    });
    const lease = this.renewLease(message);
    let failure: unknown;
    let succeeded = false;
    try {
      await definition.handler(value, context);
      succeeded = true;
    } catch (error) {
      failure = error;
    }
    const popReceipt = await lease.end();
    try {
      if (succeeded) {
        await this.o.queue.deleteMessage(message.messageId, popReceipt);
        return;
      }
      this.o.log({
        functionName,
        invocationId: context.invocationId,
        level: 'error',
        message: `Executed '${functionName}' (Failed, dequeueCount ${message.dequeueCount}): ${String(failure)}`,
      });
      if (message.dequeueCount >= settings.maxDequeueCount) {
        await this.moveToPoison(message, popReceipt);
      } else {
        await this.o.queue.updateMessage(
          message.messageId,
          popReceipt,
          undefined,
          Math.ceil(settings.visibilityTimeoutMs / 1000),
        );
      }
    } catch (error) {
      // Lost the message (its lease ran out and another listener took it): the queue delivers it again.
      this.o.log({
        functionName,
        level: 'warning',
        message: `message ${message.messageId} could not be completed: ${String(error)}`,
      });
    }
  }

  /** Keeps the message invisible while its handler runs; `end` stops and returns the latest pop receipt. */
  private renewLease(message: DequeuedMessageItem): { end(): Promise<string> } {
    let popReceipt = message.popReceipt;
    let renewing: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = renewing.then(async () => {
        try {
          const updated = await this.o.queue.updateMessage(
            message.messageId,
            popReceipt,
            undefined,
            Math.ceil(this.o.leaseMs / 1000),
          );
          if (updated.popReceipt) popReceipt = updated.popReceipt;
        } catch {
          // The next renewal (or the completion) tries again.
        }
      });
    }, this.o.leaseMs / 2);
    return {
      end: async () => {
        clearInterval(timer);
        await renewing;
        return popReceipt;
      },
    };
  }

  /** Copies the message's original text to `<queue>-poison`, then deletes it from the queue. */
  private async moveToPoison(message: DequeuedMessageItem, popReceipt: string): Promise<void> {
    const { poison } = this.o;
    this.o.log({
      functionName: this.o.definition.name,
      level: 'warning',
      message: `Message has reached MaxDequeueCount of ${this.o.settings.maxDequeueCount}. Moving message to queue '${poison.name}'.`,
    });
    try {
      this.poisonCreated ??= poison.createIfNotExists().catch((error: unknown) => {
        this.poisonCreated = undefined;
        throw error;
      });
      await this.poisonCreated;
      await poison.sendMessage(message.messageText);
      await this.o.queue.deleteMessage(message.messageId, popReceipt);
    } catch (error) {
      this.o.log({
        functionName: this.o.definition.name,
        level: 'error',
        message: `message ${message.messageId} could not be moved to ${poison.name}: ${String(error)}`,
      });
    }
  }
}

function isQueueNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
