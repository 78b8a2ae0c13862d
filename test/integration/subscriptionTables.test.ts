/**
 * The subscription store and the delivery log on Azurite (docs/spec.md §12): what is stored (no secret), which
 * subscriptions an event reaches, rotation and 410-disabling as conditional writes, the delivery log's order,
 * paging, retention and clean-up.
 */
import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { VirtualClock } from '../../dev/virtualClock';
import { InvalidContinuationTokenError } from '../../shared/errors';
import type { DeliveryRecord, Subscription } from '../../shared/notifications/types';
import { createTableClientFactory } from '../../shared/store/tableClient';
import { TableDeliveryLog } from '../../shared/store/tableDeliveryLog';
import { TableSubscriptionStore } from '../../shared/store/tableSubscriptionStore';

const connectionString = inject('azuriteConnectionString');
const T0 = Date.parse('2026-04-01T08:00:00.000Z');
const tableClient = createTableClientFactory({ connectionString });

function suffix(): string {
  return Array.from(randomBytes(10), (b) => String.fromCharCode(97 + (b % 26))).join('');
}

async function newStores(): Promise<{
  subscriptions: TableSubscriptionStore;
  deliveries: TableDeliveryLog;
  clock: VirtualClock;
  names: { subscriptions: string; deliveries: string };
  rows: (table: 'subscriptions' | 'deliveries') => Promise<Record<string, unknown>[]>;
}> {
  const names = { subscriptions: `subs${suffix()}`, deliveries: `dlv${suffix()}` };
  const clock = new VirtualClock(T0);
  const subscriptions = new TableSubscriptionStore({ tableClient, tableName: names.subscriptions });
  const deliveries = new TableDeliveryLog({ tableClient, clock, tableName: names.deliveries });
  await subscriptions.initialize();
  await deliveries.initialize();
  await subscriptions.initialize(); // idempotent
  const rows = async (table: 'subscriptions' | 'deliveries'): Promise<Record<string, unknown>[]> => {
    const client = TableClient.fromConnectionString(connectionString, names[table], {
      allowInsecureConnection: true,
    });
    const out: Record<string, unknown>[] = [];
    for await (const row of client.listEntities<Record<string, unknown>>()) out.push(row);
    return out;
  };
  return { subscriptions, deliveries, clock, names, rows };
}

function subscription(fields: Partial<Subscription> = {}): Subscription {
  return {
    id: randomBytes(16).toString('hex'),
    url: 'https://hooks.contoso.com/training',
    events: ['job.statusChanged', 'job.completed'],
    createdAt: new Date(T0).toISOString(),
    version: 1,
    ...fields,
  };
}

const JOB_A = 'a'.repeat(32);
const JOB_B = 'b'.repeat(32);

describe('TableSubscriptionStore', () => {
  it('stores a subscription and reads it back as it was, with no secret in the row', async () => {
    // Prepare
    const { subscriptions, rows } = await newStores();
    const s = subscription({ kinds: ['face.personGroup'], jobIds: [JOB_A], description: 'ops' });

    // Act
    await subscriptions.create(s);
    const read = await subscriptions.get(s.id);

    // Assess
    expect(read).toEqual(s);
    const [row] = await rows('subscriptions');
    expect(Object.keys(row!).filter((k) => /secret/i.test(k))).toEqual([]);
    expect(await subscriptions.get('f'.repeat(32))).toBeUndefined();
    expect(await subscriptions.get('../not-an-id')).toBeUndefined();
  });

  it('finds the enabled subscriptions an event reaches, by type, kind and job', async () => {
    // Prepare
    const { subscriptions } = await newStores();
    const all = subscription();
    const completedOnly = subscription({ events: ['job.completed'] });
    const faceOnly = subscription({ kinds: ['face.personGroup'] });
    const jobB = subscription({ jobIds: [JOB_B] });
    const disabled = subscription();
    for (const s of [all, completedOnly, faceOnly, jobB, disabled]) await subscriptions.create(s);
    await subscriptions.disable(disabled.id, 'receiver answered 410 Gone', new Date(T0));

    // Act
    const ids = async (
      type: 'job.statusChanged' | 'job.completed',
      kind: string,
      jobId: string,
    ): Promise<string[]> => (await subscriptions.listMatching({ type, kind, jobId })).map((s) => s.id).sort();

    // Assess
    expect(await ids('job.statusChanged', 'language.textAuthoring', JOB_A)).toEqual([all.id].sort());
    expect(await ids('job.completed', 'face.personGroup', JOB_A)).toEqual(
      [all.id, completedOnly.id, faceOnly.id].sort(),
    );
    expect(await ids('job.statusChanged', 'face.personGroup', JOB_B)).toEqual(
      [all.id, faceOnly.id, jobB.id].sort(),
    );
  });

  it('rotates: the version goes up and the previous one stays valid for 24 h; twice keeps only the last previous', async () => {
    // Prepare
    const { subscriptions } = await newStores();
    const s = subscription();
    await subscriptions.create(s);

    // Act
    const first = await subscriptions.rotate(s.id, new Date(T0));
    const second = await subscriptions.rotate(s.id, new Date(T0 + 60_000));
    const missing = await subscriptions.rotate('e'.repeat(32), new Date(T0));

    // Assess
    expect(first).toMatchObject({
      version: 2,
      previousVersion: { version: 1, validUntil: '2026-04-02T08:00:00.000Z' },
    });
    expect(second).toMatchObject({
      version: 3,
      previousVersion: { version: 2, validUntil: '2026-04-02T08:01:00.000Z' },
    });
    expect(await subscriptions.get(s.id)).toEqual(second);
    expect(missing).toBeUndefined();
  });

  it('loses no rotation when several run at once: each one bumps the version', async () => {
    // Prepare
    const { subscriptions } = await newStores();
    const s = subscription();
    await subscriptions.create(s);

    // Act
    await Promise.all([1, 2, 3].map(() => subscriptions.rotate(s.id, new Date(T0))));

    // Assess
    expect((await subscriptions.get(s.id))?.version).toBe(4);
  });

  it('disables once (the first reason stays), and disabling a missing subscription does nothing', async () => {
    // Prepare
    const { subscriptions } = await newStores();
    const s = subscription();
    await subscriptions.create(s);

    // Act
    await subscriptions.disable(s.id, '410 Gone', new Date(T0));
    await subscriptions.disable(s.id, 'again', new Date(T0 + 1000));
    await subscriptions.disable('d'.repeat(32), '410 Gone', new Date(T0));

    // Assess
    expect((await subscriptions.get(s.id))?.disabled).toEqual({
      at: new Date(T0).toISOString(),
      reason: '410 Gone',
    });
  });

  it('lists page by page with a continuation token bound to the query, and deletes', async () => {
    // Prepare
    const { subscriptions } = await newStores();
    const made = [subscription(), subscription(), subscription()];
    for (const s of made) await subscriptions.create(s);

    // Act
    const first = await subscriptions.list({ top: 2 });
    const second = await subscriptions.list({ top: 2, continuationToken: first.continuationToken! });
    const deleted = await subscriptions.delete(made[0]!.id);
    const deletedAgain = await subscriptions.delete(made[0]!.id);

    // Assess
    expect(first.items).toHaveLength(2);
    expect(second.continuationToken).toBeUndefined();
    expect([...first.items, ...second.items].map((s) => s.id).sort()).toEqual(made.map((s) => s.id).sort());
    await expect(subscriptions.list({ top: 2, continuationToken: 'garbled' })).rejects.toBeInstanceOf(
      InvalidContinuationTokenError,
    );
    expect([deleted, deletedAgain]).toEqual([true, false]);
    expect((await subscriptions.list({ top: 10 })).items).toHaveLength(2);
  });
});

describe('TableDeliveryLog', () => {
  const SUB = 'c'.repeat(32);
  const record = (eventId: string, fields: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
    subscriptionId: SUB,
    eventId,
    type: 'job.statusChanged',
    jobId: JOB_A,
    status: 'pending',
    attempts: 0,
    ...fields,
  });

  it('keeps one record per event, updated in place, listed newest first by when it was first logged', async () => {
    // Prepare
    const { deliveries, clock } = await newStores();
    for (const id of ['evt_1', 'evt_2', 'evt_3']) {
      await deliveries.upsert(record(id));
      clock.set(clock.now().getTime() + 1000);
    }

    // Act
    await deliveries.upsert(
      record('evt_1', {
        status: 'delivered',
        attempts: 2,
        lastAttemptAt: '2026-04-01T08:00:05.000Z',
        lastHttpStatus: 204,
      }),
    );
    const page = await deliveries.list(SUB, { top: 10 });

    // Assess
    expect(page.items.map((r) => r.eventId)).toEqual(['evt_3', 'evt_2', 'evt_1']);
    expect(page.items[2]).toEqual(
      record('evt_1', {
        status: 'delivered',
        attempts: 2,
        lastAttemptAt: '2026-04-01T08:00:05.000Z',
        lastHttpStatus: 204,
      }),
    );
  });

  it('updates the same record from another process (which has not seen it) and from several writers at once', async () => {
    // Prepare
    const { deliveries, clock, names } = await newStores();
    const anotherProcess = (): TableDeliveryLog =>
      new TableDeliveryLog({ tableClient, clock, tableName: names.deliveries });
    const other = anotherProcess();
    await deliveries.upsert(record('evt/with?odd#chars'));

    // Act
    await other.upsert(record('evt/with?odd#chars', { status: 'failed', attempts: 9 }));
    await Promise.all([1, 2, 3].map((n) => anotherProcess().upsert(record('evt_race', { attempts: n }))));
    const page = await deliveries.list(SUB, { top: 10 });

    // Assess
    expect(page.items.map((r) => [r.eventId, r.status])).toEqual(
      expect.arrayContaining([['evt/with?odd#chars', 'failed']]),
    );
    expect(page.items.filter((r) => r.eventId === 'evt_race')).toHaveLength(1);
    expect(page.items).toHaveLength(2);
  });

  it('lists the last 7 days only, page by page', async () => {
    // Prepare
    const { deliveries, clock } = await newStores();
    await deliveries.upsert(record('evt_old', { status: 'failed' }));
    clock.set(T0 + 6 * 86_400_000);
    for (const id of ['evt_a', 'evt_b', 'evt_c']) await deliveries.upsert(record(id));
    clock.set(T0 + 7 * 86_400_000 + 1);

    // Act
    const first = await deliveries.list(SUB, { top: 2 });
    const second = await deliveries.list(SUB, { top: 2, continuationToken: first.continuationToken! });

    // Assess
    expect(first.items).toHaveLength(2);
    expect([...first.items, ...second.items].map((r) => r.eventId).sort()).toEqual([
      'evt_a',
      'evt_b',
      'evt_c',
    ]);
    expect(second.continuationToken).toBeUndefined();
    await expect(
      deliveries.list('d'.repeat(32), { top: 2, continuationToken: first.continuationToken! }),
    ).rejects.toBeInstanceOf(InvalidContinuationTokenError);
  });

  it('deletes every record of a subscription, and only its own', async () => {
    // Prepare
    const { deliveries, rows } = await newStores();
    for (let n = 0; n < 120; n++) await deliveries.upsert(record(`evt_${n}`));
    await deliveries.upsert({ ...record('evt_kept'), subscriptionId: 'd'.repeat(32) });

    // Act
    await deliveries.deleteAll(SUB);

    // Assess
    expect((await rows('deliveries')).map((r) => r['partitionKey'])).toEqual([
      'd'.repeat(32),
      'd'.repeat(32),
    ]);
    expect((await deliveries.list(SUB, { top: 10 })).items).toEqual([]);
  });
});
