import { randomBytes } from 'node:crypto';
import { QueueClient } from '@azure/storage-queue';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startTrafficProxy, type TrafficProxy } from '../../dev/trafficProxy';
import type { Clock } from '../../shared/clock';
import { QueueUnavailableError } from '../../shared/errors';
import { parsePollMessage } from '../../shared/queue/message';
import { createPollQueueClient, StoragePollQueue } from '../../shared/queue/storagePollQueue';
import type { PollMessage } from '../../shared/queue/types';

const connectionString = inject('azuriteConnectionString');
const queueEndpoint = /QueueEndpoint=([^;]+)/.exec(connectionString)![1]!;

const NOW = new Date('2026-03-01T12:00:00.000Z');
const fixedClock: Clock = { now: () => new Date(NOW), sleep: () => Promise.resolve() };

function uniqueQueueName(): string {
  return `t${randomBytes(8).toString('hex')}`;
}

function message(slotAt: Date): PollMessage {
  return {
    v: 1,
    jobId: 'job-1',
    claim: 'claim-1',
    slotAt: slotAt.toISOString(),
    resource: 'face.example:443',
  };
}

const proxies: TrafficProxy[] = [];
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.stop();
});

/** A poll queue whose requests cross a proxy, so the test sees what the SDK sends and can inject faults. */
async function queueBehindProxy(clock: Clock = fixedClock) {
  const proxy = await startTrafficProxy(new URL(queueEndpoint).origin);
  proxies.push(proxy);
  const queueName = uniqueQueueName();
  const proxied = connectionString.replace(
    /QueueEndpoint=[^;]+/,
    `QueueEndpoint=${proxy.origin}/devstoreaccount1`,
  );
  const queue = new StoragePollQueue({
    client: createPollQueueClient({ connectionString: proxied, queueName }),
    clock,
  });
  const direct = new QueueClient(connectionString, queueName);
  const sends = () =>
    proxy.requests
      .filter((r) => r.method === 'POST' && r.path.includes(`/${queueName}/messages`))
      .map((r) => new URL(r.path, 'http://x').searchParams);
  return { proxy, queue, direct, queueName, sends };
}

describe('StoragePollQueue', () => {
  it('creates the queue on first use and sends JSON as base64 text that decodes to the message', async () => {
    // Prepare
    const { queue, direct } = await queueBehindProxy();
    const sent = message(new Date(NOW.getTime() - 1_000));

    // Act
    await queue.send(sent);

    // Assess
    const [item] = (await direct.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    expect(item?.messageText).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(parsePollMessage(Buffer.from(item!.messageText, 'base64').toString('utf8'))).toEqual(sent);
  });

  it('keeps a message invisible until 2 s before its slot, in whole seconds rounded down, never negative', async () => {
    // Prepare
    const { queue, sends } = await queueBehindProxy();

    // Act
    await queue.send(message(new Date(NOW.getTime() + 5_400)));
    await queue.send(message(new Date(NOW.getTime() - 60_000)));
    await queue.send(message(new Date(NOW.getTime() + 30 * 86_400_000)));

    // Assess
    const sent = sends();
    expect(sent.map((q) => q.get('visibilitytimeout'))).toEqual(['3', '0', String(7 * 86_400)]);
    // Each message outlives its slot (a day), so it can still be taken after it shows.
    expect(sent.map((q) => Number(q.get('messagettl')) - Number(q.get('visibilitytimeout')))).toEqual([
      86_400, 86_400, 86_400,
    ]);
  });

  it('a message sent with a slot ahead is not delivered more than 2 s before it', async () => {
    // Prepare: the system clock, a slot 4 s ahead
    const { queue, direct } = await queueBehindProxy({ ...fixedClock, now: () => new Date() });
    const slot = new Date(Date.now() + 4_000);

    // Act
    await queue.send(message(slot));
    const before = await direct.receiveMessages({ numberOfMessages: 1 });
    let received = before.receivedMessageItems;
    while (received.length === 0) {
      await new Promise((r) => setTimeout(r, 200));
      received = (await direct.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    }

    // Assess
    expect(before.receivedMessageItems).toEqual([]);
    // Whole seconds rounded down: shown 2-3 s before the slot.
    expect(Date.now()).toBeGreaterThanOrEqual(slot.getTime() - 3_000);
  });

  it('creates the queue again when it was deleted after first use', async () => {
    // Prepare
    const { queue, direct } = await queueBehindProxy();
    await queue.initialize();
    await direct.delete();

    // Act
    await queue.send(message(NOW));

    // Assess
    expect((await direct.peekMessages()).peekedMessageItems).toHaveLength(1);
  });

  it('surfaces a queue that answers 503 as QueueUnavailableError with the status, after a few quick tries', async () => {
    // Prepare
    const { queue, proxy, queueName } = await queueBehindProxy();
    await queue.initialize();
    proxy.setFaults((r) => (r.method === 'POST' ? { status: 503 } : 'forward'));
    proxy.resetCount();

    // Act
    const error = await queue.send(message(NOW)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect(error).toMatchObject({ httpStatus: 503, queueName });
    expect(proxy.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
  });

  it('surfaces an unreachable queue (connection dropped) as QueueUnavailableError', async () => {
    // Prepare
    const { queue, proxy } = await queueBehindProxy();
    proxy.setFaults(() => 'reset');

    // Act
    const error = await queue.send(message(NOW)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect((error as QueueUnavailableError).httpStatus).toBeUndefined();
    expect((error as Error).message).not.toContain('AccountKey');
  });

  it('fails a send whose answer was lost after the message was stored as maybe stored, and does not send it again', async () => {
    // Prepare: the proxy passes each send to the queue, then drops the connection before the answer.
    const { queue, proxy, direct, sends } = await queueBehindProxy();
    await queue.initialize();
    proxy.setFaults((r) => (r.method === 'POST' ? 'forwardThenReset' : 'forward'));

    // Act
    const error = await queue.send(message(NOW)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect((error as QueueUnavailableError).maybeStored).toBe(true);
    expect(sends()).toHaveLength(1);
    expect((await direct.peekMessages({ numberOfMessages: 32 })).peekedMessageItems).toHaveLength(1);
  });

  it('fails a send the queue refused or never received as not stored', async () => {
    // Prepare
    const refused = await queueBehindProxy();
    await refused.queue.initialize();
    refused.proxy.setFaults((r) => (r.method === 'POST' ? { status: 503 } : 'forward'));
    const closed = await queueBehindProxy();
    await closed.queue.initialize();
    await closed.proxy.stop();

    // Act
    const busy = await refused.queue.send(message(NOW)).catch((e: unknown) => e);
    const unreachable = await closed.queue.send(message(NOW)).catch((e: unknown) => e);

    // Assess
    expect(busy).toMatchObject({ httpStatus: 503, maybeStored: false });
    expect(unreachable).toBeInstanceOf(QueueUnavailableError);
    expect((unreachable as QueueUnavailableError).maybeStored).toBe(false);
    expect((await refused.direct.peekMessages()).peekedMessageItems).toEqual([]);
  });

  it('passes the abort signal through: an aborted send fails as QueueUnavailableError and sends nothing', async () => {
    // Prepare
    const { queue, direct, sends } = await queueBehindProxy();
    await queue.initialize();

    // Act
    const error = await queue
      .send(message(NOW), { abortSignal: AbortSignal.abort() })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect((error as Error).message).toContain('aborted');
    expect(sends()).toEqual([]);
    expect((await direct.peekMessages()).peekedMessageItems).toEqual([]);
  });
});
