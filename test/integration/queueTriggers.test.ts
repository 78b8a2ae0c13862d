import { randomBytes } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { FunctionDefinition } from '../../functions/registry';
import { startLocalHost, type HostLogEntry, type LocalHost } from '../../dev/host';
import { loadHostQueuesExtension } from '../../dev/queueSettings';
import { systemClock } from '../../shared/clock';
import { encodeQueueMessage, parsePollMessage } from '../../shared/queue/message';
import {
  createPollQueueClient,
  SHOW_BEFORE_SLOT_MS,
  StoragePollQueue,
} from '../../shared/queue/storagePollQueue';
import type { PollMessage } from '../../shared/queue/types';

const connectionString = inject('azuriteConnectionString');

interface Delivery {
  value: unknown;
  metadata: Record<string, unknown>;
  at: number;
}

const hosts: LocalHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

/**
 * The local host serving one queue-triggered function on a fresh queue (named through a `%SETTING%`, as the
 * function table may), with the connection in `POLL_QUEUE`. Failed messages show again at once, so five tries
 * take moments; polling is every 100 ms at most.
 */
async function hostWithQueueFunction(
  handler: (value: unknown, context: InvocationContext) => Promise<void>,
  options: { leaseMs?: number; before?: (queue: QueueClient) => Promise<void> } = {},
): Promise<{
  queueName: string;
  deliveries: Delivery[];
  logs: HostLogEntry[];
  queue: QueueClient;
  poison: QueueClient;
}> {
  const queueName = `t${randomBytes(8).toString('hex')}`;
  const deliveries: Delivery[] = [];
  const logs: HostLogEntry[] = [];
  const definition: FunctionDefinition = {
    name: 'pollJob',
    trigger: 'storageQueue',
    queueName: '%TEST_QUEUE_NAME%',
    connection: 'POLL_QUEUE',
    handler: async (value, context) => {
      deliveries.push({ value, metadata: { ...context.triggerMetadata }, at: Date.now() });
      await handler(value, context);
    },
  };
  const queue = new QueueClient(connectionString, queueName);
  await queue.createIfNotExists();
  await options.before?.(queue);
  const host = await startLocalHost({
    functions: [definition],
    appSettings: { POLL_QUEUE: connectionString, TEST_QUEUE_NAME: queueName },
    onLog: (entry) => logs.push(entry),
    queueTriggers: {
      settings: { ...loadHostQueuesExtension(), visibilityTimeoutMs: 0 },
      maxPollingIntervalMs: 100,
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    },
  });
  hosts.push(host);
  return {
    queueName,
    deliveries,
    logs,
    queue,
    poison: new QueueClient(connectionString, `${queueName}-poison`),
  };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function poisonTexts(poison: QueueClient): Promise<string[]> {
  if (!(await poison.exists())) return [];
  return (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => m.messageText);
}

async function queueLength(queue: QueueClient): Promise<number> {
  return (await queue.getProperties()).approximateMessagesCount ?? 0;
}

describe('the local host runs queue-triggered functions as the Functions host does', () => {
  it('delivers a handed-off poll, decoded, at most 2 s before its slot, and deletes it once handled', async () => {
    // Prepare
    const { queueName, deliveries, queue } = await hostWithQueueFunction(() => Promise.resolve());
    const pollQueue = new StoragePollQueue({
      client: createPollQueueClient({ connectionString, queueName }),
      clock: systemClock,
    });
    const slot = new Date(Date.now() + 4_000);
    const sent: PollMessage = {
      v: 1,
      jobId: 'job-1',
      claim: 'claim-1',
      slotAt: slot.toISOString(),
      resource: 'face.example:443',
    };

    // Act
    await pollQueue.send(sent);
    await until(() => deliveries.length > 0, 'the delivery');

    // Assess
    expect(deliveries).toHaveLength(1);
    const [delivery] = deliveries;
    expect(parsePollMessage(delivery!.value)).toEqual(sent);
    // Shown 2-3 s before the slot (whole seconds), so a listener reading once a second holds it at the slot.
    expect(delivery!.at).toBeGreaterThanOrEqual(slot.getTime() - SHOW_BEFORE_SLOT_MS - 1_000);
    const metadata = delivery!.metadata;
    expect(metadata['dequeueCount']).toBe(1);
    expect(metadata['queueTrigger']).toEqual(sent);
    expect(typeof metadata['id'] === 'string' && typeof metadata['popReceipt'] === 'string').toBe(true);
    expect(Date.parse(String(metadata['insertionTime']))).toBeLessThan(slot.getTime());
    expect(Date.parse(String(metadata['nextVisibleTime']))).toBeGreaterThan(slot.getTime());
    await until(async () => (await queueLength(queue)) === 0, 'the message to be deleted');
  });

  it('moves a message whose handler throws five times to <queue>-poison, after dequeue counts 1 to 5', async () => {
    // Prepare
    const { deliveries, queue, poison, logs } = await hostWithQueueFunction(() =>
      Promise.reject(new Error('upstream down')),
    );
    const text = encodeQueueMessage({ hello: 'world' });

    // Act
    await queue.sendMessage(text);
    await until(async () => (await poisonTexts(poison)).length > 0, 'the poison message');

    // Assess
    expect(deliveries.map((d) => d.metadata['dequeueCount'])).toEqual([1, 2, 3, 4, 5]);
    expect(deliveries.map((d) => d.value)).toEqual(Array(5).fill({ hello: 'world' }));
    expect(await poisonTexts(poison)).toEqual([text]);
    expect(await queueLength(queue)).toBe(0);
    expect(logs.filter((l) => l.level === 'error' && l.message.includes('upstream down'))).toHaveLength(5);
  });

  it('retries a failed message until it succeeds, without poisoning it', async () => {
    // Prepare
    let failures = 2;
    const { deliveries, queue, poison } = await hostWithQueueFunction(() =>
      failures-- > 0 ? Promise.reject(new Error('transient')) : Promise.resolve(),
    );

    // Act
    await queue.sendMessage(encodeQueueMessage({ n: 1 }));
    await until(() => deliveries.length === 3, 'the third delivery');
    await until(async () => (await queueLength(queue)) === 0, 'the message to be deleted');

    // Assess
    expect(deliveries.map((d) => d.metadata['dequeueCount'])).toEqual([1, 2, 3]);
    expect(await poisonTexts(poison)).toEqual([]);
  });

  it('keeps a message invisible while its handler runs past the lease, renewing it', async () => {
    // Prepare: a 2 s lease (renewed every second) and a handler that takes 3.5 s
    const { deliveries, queue } = await hostWithQueueFunction(
      () => new Promise((r) => setTimeout(r, 3_500)),
      {
        leaseMs: 2_000,
      },
    );

    // Act
    await queue.sendMessage(encodeQueueMessage({ slow: true }));
    await until(() => deliveries.length > 0, 'the delivery');
    await until(async () => (await queueLength(queue)) === 0, 'the message to be deleted');

    // Assess
    expect(deliveries.map((d) => d.metadata['dequeueCount'])).toEqual([1]);
  });

  it('moves a message already dequeued five times (its workers crashed) to the poison queue without running it', async () => {
    // Prepare: five receives that were never completed
    const text = encodeQueueMessage({ crashed: 5 });
    const { deliveries, poison } = await hostWithQueueFunction(() => Promise.resolve(), {
      before: async (queue) => {
        await queue.sendMessage(text);
        for (let i = 0; i < 5; i++) {
          const [m] = (await queue.receiveMessages({ visibilityTimeout: 30 })).receivedMessageItems;
          await queue.updateMessage(m!.messageId, m!.popReceipt, undefined, 0);
        }
      },
    });

    // Act
    await until(async () => (await poisonTexts(poison)).length > 0, 'the poison message');

    // Assess
    expect(deliveries).toEqual([]);
    expect(await poisonTexts(poison)).toEqual([text]);
  });

  it('moves a message that is not base64 to the poison queue at once, without running the function', async () => {
    // Prepare
    const { deliveries, queue, poison, logs } = await hostWithQueueFunction(() => Promise.resolve());

    // Act
    await queue.sendMessage('{"v":1,"jobId":"plain JSON, not base64"}');
    await until(async () => (await poisonTexts(poison)).length > 0, 'the poison message');

    // Assess
    expect(deliveries).toEqual([]);
    expect(await poisonTexts(poison)).toEqual(['{"v":1,"jobId":"plain JSON, not base64"}']);
    expect(logs.some((l) => l.level === 'error' && l.message.includes('not valid base64'))).toBe(true);
  });

  it('hands base64 text that is not JSON to the function as a string', async () => {
    // Prepare
    const { deliveries, queue } = await hostWithQueueFunction(() => Promise.resolve());

    // Act
    await queue.sendMessage(Buffer.from('just text', 'utf8').toString('base64'));
    await until(() => deliveries.length > 0, 'the delivery');

    // Assess
    expect(deliveries[0]!.value).toBe('just text');
    expect(() => parsePollMessage(deliveries[0]!.value)).toThrow(/not JSON/);
  });

  it('logs a queue function whose connection setting is missing, as the host does, and keeps serving', async () => {
    // Prepare
    const logs: HostLogEntry[] = [];
    const definition: FunctionDefinition = {
      name: 'orphan',
      trigger: 'storageQueue',
      queueName: 'polls',
      connection: 'MISSING_QUEUE',
      handler: () => Promise.resolve(),
    };

    // Act
    const host = await startLocalHost({
      functions: [definition],
      appSettings: {},
      onLog: (e) => logs.push(e),
    });
    hosts.push(host);

    // Assess
    expect(logs.map((l) => [l.functionName, l.level])).toEqual([['orphan', 'error']]);
    expect(logs[0]!.message).toContain("'MISSING_QUEUE' does not exist");
    expect((await fetch(`${host.url}/api/nothing`)).status).toBe(404);
  });
});
