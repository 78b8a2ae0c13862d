/*
 * What the local host's queue triggers read before they listen: host.json's `extensions.queues` (with the
 * Functions host's defaults), a trigger's connection settings, and how a message's text becomes the handler's
 * value.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { QueueClient } from '@azure/storage-queue';

/** `host.json` `extensions.queues`, with the Functions host's defaults for what it leaves out. */
export interface QueuesExtensionSettings {
  batchSize: number;
  newBatchThreshold: number;
  maxPollingIntervalMs: number;
  /** Delay before a failed message is visible again. */
  visibilityTimeoutMs: number;
  maxDequeueCount: number;
  messageEncoding: 'base64' | 'none';
}

export const HOST_QUEUE_DEFAULTS: QueuesExtensionSettings = {
  batchSize: 16,
  newBatchThreshold: 8,
  maxPollingIntervalMs: 60_000,
  visibilityTimeoutMs: 0,
  maxDequeueCount: 5,
  messageEncoding: 'base64',
};

/** Reads `extensions.queues` of a parsed host.json; absent values take the host's defaults. */
export function readQueuesExtension(hostJson: unknown): QueuesExtensionSettings {
  const queues = (hostJson as { extensions?: { queues?: Record<string, unknown> } } | undefined)?.extensions
    ?.queues;
  const number = (name: string, fallback: number): number => {
    const value = queues?.[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw new Error(`host.json extensions.queues.${name} must be a whole number`);
    return value;
  };
  const span = (name: string, fallback: number): number => {
    const value = queues?.[name];
    if (value === undefined) return fallback;
    const m = typeof value === 'string' ? /^(\d{1,2}):(\d{2}):(\d{2})(\.\d{1,7})?$/.exec(value) : null;
    if (!m) throw new Error(`host.json extensions.queues.${name} must be a time span hh:mm:ss`);
    const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4] ?? 0);
    return Math.round(seconds * 1000);
  };
  const encoding = queues?.['messageEncoding'] ?? HOST_QUEUE_DEFAULTS.messageEncoding;
  if (encoding !== 'base64' && encoding !== 'none')
    throw new Error("host.json extensions.queues.messageEncoding must be 'base64' or 'none'");
  const batchSize = number('batchSize', HOST_QUEUE_DEFAULTS.batchSize);
  if (batchSize < 1 || batchSize > 32) throw new Error('host.json extensions.queues.batchSize must be 1-32');
  return {
    batchSize,
    newBatchThreshold: number('newBatchThreshold', Math.floor(batchSize / 2)),
    maxPollingIntervalMs: span('maxPollingInterval', HOST_QUEUE_DEFAULTS.maxPollingIntervalMs),
    visibilityTimeoutMs: span('visibilityTimeout', HOST_QUEUE_DEFAULTS.visibilityTimeoutMs),
    maxDequeueCount: number('maxDequeueCount', HOST_QUEUE_DEFAULTS.maxDequeueCount),
    messageEncoding: encoding,
  };
}

/** The project's host.json (found from this file up: it runs from `dev/` under vitest and `dist/dev/` built). */
export function loadHostQueuesExtension(): QueuesExtensionSettings {
  for (let dir = __dirname, i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const file = path.join(dir, 'host.json');
    if (existsSync(file)) return readQueuesExtension(JSON.parse(readFileSync(file, 'utf8')) as unknown);
  }
  return HOST_QUEUE_DEFAULTS;
}

/**
 * Decodes a message's text as the trigger does; undefined when `base64` is expected and the text is not valid
 * base64 (strict, as .NET's decoder: the alphabet, padding only at the end, a length that is a multiple of 4).
 */
export function decodeMessageText(text: string, encoding: 'base64' | 'none'): string | undefined {
  if (encoding === 'none') return text;
  const compact = text.replace(/[\t\n\r ]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

/** What the Node worker hands the handler: the JSON value when the text is JSON, else the text. */
export function triggerValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

type Connection = { connectionString: string } | { queueServiceUri: string; credential: TokenCredential };

/**
 * Resolves a trigger's `connection` as the host does: the setting `<name>` (or `AzureWebJobs<name>`) holding a
 * connection string, or the identity-based section `<name>__queueServiceUri` / `__serviceUri` / `__accountName`
 * with `__credential` and `__clientId`. Undefined when none is set.
 */
export function resolveQueueConnection(
  name: string,
  settings: Readonly<Record<string, string | undefined>>,
): Connection | undefined {
  const value = (key: string): string | undefined => settings[key]?.trim() || undefined;
  for (const prefix of [name, `AzureWebJobs${name}`]) {
    const connectionString = value(prefix);
    if (connectionString) return { connectionString };
    const account = value(`${prefix}__accountName`);
    const uri =
      value(`${prefix}__queueServiceUri`) ??
      value(`${prefix}__serviceUri`) ??
      (account ? `https://${account}.queue.core.windows.net` : undefined);
    if (!uri) continue;
    const clientId = value(`${prefix}__clientId`);
    const credential =
      value(`${prefix}__credential`)?.toLowerCase() === 'managedidentity'
        ? new ManagedIdentityCredential(clientId ? { clientId } : {})
        : new DefaultAzureCredential();
    return { queueServiceUri: uri, credential };
  }
  return undefined;
}

/** The client of one queue over a resolved connection. */
export function queueClient(connection: Connection, queueName: string): QueueClient {
  return 'connectionString' in connection
    ? new QueueClient(connection.connectionString, queueName)
    : new QueueClient(
        `${connection.queueServiceUri.replace(/\/+$/, '')}/${queueName}`,
        connection.credential,
      );
}
