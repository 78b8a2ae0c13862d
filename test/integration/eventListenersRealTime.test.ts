/**
 * Whether anything listens (docs/spec.md §12), on the real clock against Azurite: a subscription created through
 * another instance counts here within `LISTENERS_RECHECK_MS` of its creation, however the calls fall (each at a
 * jittered moment, as polls do); what this instance read is trusted between looks; and a subscriptions table that
 * does not answer counts as "yes" after the 2 s look timeout, on a real socket. The virtual-clock scenario is
 * test/unit/eventListeners.test.ts.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { seededRandom } from '../../dev/virtualClock';
import { systemClock } from '../../shared/clock';
import { EventListeners, LISTENERS_RECHECK_MS } from '../../shared/notifications/listeners';
import type { Subscription } from '../../shared/notifications/types';
import { createTableClientFactory } from '../../shared/store/tableClient';
import { TableSubscriptionStore } from '../../shared/store/tableSubscriptionStore';

const connectionString = inject('azuriteConnectionString');
/** Scheduling and one Table read on a busy 2-core machine: how late a look may answer past its moment. */
const SLACK_MS = 750;

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

/** A subscriptions store on a fresh table, and a count of the reads made through it. */
async function subscriptionsTable(): Promise<{
  store: TableSubscriptionStore;
  tableName: string;
  reads: () => number;
}> {
  const tableName = `subs${randomBytes(6).toString('hex')}`;
  const store = new TableSubscriptionStore({
    tableClient: createTableClientFactory({ connectionString }),
    tableName,
  });
  await store.initialize();
  let reads = 0;
  const list = store.list.bind(store);
  store.list = (options) => {
    reads++;
    return list(options);
  };
  return { store, tableName, reads: () => reads };
}

function subscription(): Subscription {
  return {
    id: randomBytes(16).toString('hex'),
    url: 'https://hooks.contoso.com/training',
    events: ['job.statusChanged', 'job.completed'],
    createdAt: new Date().toISOString(),
    version: 1,
  };
}

describe('whether anything listens, on the real clock', () => {
  it('counts a subscription made through another instance within the recheck period, trusting its read between looks', async () => {
    // Prepare: this instance looked and saw nothing; another instance (its own store client) then subscribes.
    const here = await subscriptionsTable();
    const elsewhere = new TableSubscriptionStore({
      tableClient: createTableClientFactory({ connectionString }),
      tableName: here.tableName,
    });
    const listeners = new EventListeners({ subscriptions: here.store, eventGrid: false, clock: systemClock });
    expect(await listeners.any()).toBe(false);
    const firstLookAt = Date.now();
    await sleep(300);
    await elsewhere.create(subscription());
    const createdAt = Date.now();

    // Act: calls at jittered moments (20-250 ms apart), as polls of a cycle ask, until one says yes.
    const random = seededRandom(12);
    let sawAt: number | undefined;
    let calls = 0;
    while (sawAt === undefined && Date.now() - createdAt < 3 * LISTENERS_RECHECK_MS) {
      await sleep(20 + Math.round(random() * 230));
      calls++;
      if (await listeners.any()) sawAt = Date.now();
    }

    // Assess
    expect(sawAt).toBeDefined();
    // Not before the look after the first one was due, and no later than a look's answer after it.
    expect(sawAt! - firstLookAt).toBeGreaterThanOrEqual(LISTENERS_RECHECK_MS - 5);
    expect(sawAt! - createdAt).toBeLessThanOrEqual(LISTENERS_RECHECK_MS + SLACK_MS);
    // Dozens of calls, two reads of the table: the first look and the one that found the subscription.
    expect(calls).toBeGreaterThan(10);
    expect(here.reads()).toBe(2);
  }, 30_000);

  it('counts a subscriptions table that does not answer as listening, after the look timeout', async () => {
    // Prepare: a Table endpoint that accepts connections and never answers.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as net.AddressInfo;
    const store = new TableSubscriptionStore({
      tableClient: createTableClientFactory({
        connectionString: connectionString.replace(
          /TableEndpoint=[^;]+/,
          `TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1`,
        ),
        clientOptions: { retryOptions: { maxRetries: 0 } },
      }),
      tableName: 'subsneveranswers',
    });
    const listeners = new EventListeners({ subscriptions: store, eventGrid: false, clock: systemClock });

    // Act
    const started = Date.now();
    const any = await listeners.any();
    const tookMs = Date.now() - started;

    // Assess
    expect(any).toBe(true);
    expect(tookMs).toBeGreaterThanOrEqual(1_990);
    expect(tookMs).toBeLessThan(2_000 + SLACK_MS);
  }, 15_000);
});
