/**
 * Webhook subscriptions through the local host (docs/spec.md §7, §12): create → list → get → rotate → delete, the
 * secret shown only on creation and rotation, signatures the `standardwebhooks` library verifies with either secret
 * during a rotation, the delivery log route, and refusals that store nothing.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices } from '../../functions/services';
import { sign } from '../../shared/notifications/signature';
import type { DeliveryRecord } from '../../shared/notifications/types';
import { startTestStack, type TestStack } from '../support/testStack';

let t: TestStack;
const LISTED_ORIGIN = 'http://127.0.0.1:9';

beforeAll(async () => {
  t = await startTestStack({
    simulators: { main: {} },
    settings: { ALLOWED_WEBHOOK_ORIGINS: LISTED_ORIGIN },
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

const post = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

interface SubscriptionView {
  id: string;
  url: string;
  events: string[];
  kinds?: string[];
  jobIds?: string[];
  description?: string;
  createdAt: string;
  secret?: string;
  previousSecretValidUntil?: string;
}

async function subscriptionCount(): Promise<number> {
  return ((await t.call('/api/subscriptions?top=100')).body as { value: unknown[] }).value.length;
}

describe('the subscription walk', () => {
  it('creates, lists, reads, rotates and deletes a subscription; the secret appears only on create and rotate', async () => {
    // Prepare
    const body = {
      url: 'https://hooks.contoso.com/training?source=cache',
      events: ['job.completed'],
      kinds: ['face.personGroup'],
      description: 'training done',
    };

    // Act
    const created = await t.call('/api/subscriptions', post(body));
    const sub = created.body as SubscriptionView;
    const listed = await t.call('/api/subscriptions');
    const read = await t.call(`/api/subscriptions/${sub.id}`);
    const rotated = await t.call(`/api/subscriptions/${sub.id}/rotate-secret`, { method: 'POST' });
    const readAfterRotation = await t.call(`/api/subscriptions/${sub.id}`);
    const deleted = await t.call(`/api/subscriptions/${sub.id}`, { method: 'DELETE' });
    const readAfterDelete = await t.call(`/api/subscriptions/${sub.id}`);
    const deletedAgain = await t.call(`/api/subscriptions/${sub.id}`, { method: 'DELETE' });

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${t.url}/api/subscriptions/${sub.id}`);
    expect(sub).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
      ...body,
      createdAt: expect.any(String) as string,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) as string,
    });
    const withoutSecret: SubscriptionView = { ...sub };
    delete withoutSecret.secret;
    expect(listed.status).toBe(200);
    expect((listed.body as { value: unknown[] }).value).toContainEqual(withoutSecret);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(withoutSecret);
    expect(rotated.status).toBe(200);
    const afterRotation = rotated.body as SubscriptionView;
    expect(afterRotation.secret).toMatch(/^whsec_/);
    expect(afterRotation.secret).not.toBe(sub.secret);
    const validUntil = Date.parse(afterRotation.previousSecretValidUntil ?? '');
    expect(validUntil - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    expect(validUntil - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    expect(readAfterRotation.body).toEqual({
      ...withoutSecret,
      previousSecretValidUntil: afterRotation.previousSecretValidUntil,
    });
    for (const answer of [listed, read, readAfterRotation]) expect(answer.text).not.toContain('whsec_');
    expect(deleted.status).toBe(204);
    expect(readAfterDelete.status).toBe(404);
    expect((readAfterDelete.body as { error: { target: string } }).error.target).toBe('id');
    expect(deletedAgain.status).toBe(204);
  });

  it('signs, during a rotation, so that the library verifies with the secret of creation and with the new one', async () => {
    // Prepare
    const created = (await t.call('/api/subscriptions', post({ url: 'https://hooks.contoso.com/a' })))
      .body as SubscriptionView;
    const rotated = (await t.call(`/api/subscriptions/${created.id}/rotate-secret`, { method: 'POST' }))
      .body as SubscriptionView;
    const { subscriptionStore, signingSecrets } = await getServices();
    const stored = (await subscriptionStore.get(created.id))!;
    const payload = JSON.stringify({ type: 'job.statusChanged', data: { id: 'a'.repeat(32) } });
    const timestamp = Math.floor(Date.now() / 1000);

    // Act
    const secrets = await signingSecrets.secretsFor(stored, new Date());
    const headers = {
      'webhook-id': 'evt_rotation',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': sign(secrets, 'evt_rotation', timestamp, payload),
    };

    // Assess
    expect(secrets).toEqual([rotated.secret, created.secret]);
    expect(new Webhook(created.secret!).verify(payload, headers)).toEqual(JSON.parse(payload));
    expect(new Webhook(rotated.secret!).verify(payload, headers)).toEqual(JSON.parse(payload));
  });

  it('accepts a plain http receiver on an origin listed in ALLOWED_WEBHOOK_ORIGINS', async () => {
    // Act
    const created = await t.call('/api/subscriptions', post({ url: `${LISTED_ORIGIN}/hook` }));

    // Assess
    expect(created.status).toBe(201);
    expect((created.body as SubscriptionView).url).toBe(`${LISTED_ORIGIN}/hook`);
  });

  it('answers HEAD on the GET routes with the status and no body', async () => {
    // Prepare
    const { id } = (await t.call('/api/subscriptions', post({ url: 'https://hooks.contoso.com/h' })))
      .body as SubscriptionView;

    // Act
    const answers = await Promise.all(
      ['/api/subscriptions', `/api/subscriptions/${id}`, `/api/subscriptions/${id}/deliveries`].map((path) =>
        t.call(path, { method: 'HEAD' }),
      ),
    );
    const missing = await t.call(`/api/subscriptions/${'0'.repeat(32)}`, { method: 'HEAD' });

    // Assess
    expect(answers.map((a) => [a.status, a.text])).toEqual([
      [200, ''],
      [200, ''],
      [200, ''],
    ]);
    expect(missing.status).toBe(404);
  });
});

describe('POST /api/subscriptions refusals', () => {
  it.each([
    ['an unknown event type', { events: ['job.deleted'] }, 'events[0]'],
    ['an empty event list', { events: [] }, 'events'],
    ['an unknown kind', { kinds: ['face.nope'] }, 'kinds[0]'],
    ['a job id that is not one', { jobIds: ['not-a-job'] }, 'jobIds[0]'],
    ['an unknown property', { secret: 'whsec_mine' }, 'secret'],
    ['a description too long', { description: 'x'.repeat(201) }, 'description'],
    ['no url', { url: undefined }, 'url'],
  ])('refuses %s with 400 and its target, and stores nothing', async (_, override, target) => {
    // Prepare
    const before = await subscriptionCount();

    // Act
    const answer = await t.call(
      '/api/subscriptions',
      post({ url: 'https://hooks.contoso.com/x', ...override }),
    );

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'InvalidArgument', target } });
    expect(await subscriptionCount()).toBe(before);
  });

  it('refuses a body over 16 KiB, a body that is not JSON, and one that is not an object', async () => {
    // Prepare
    const before = await subscriptionCount();
    const big = JSON.stringify({ url: 'https://hooks.contoso.com/x', description: 'x'.repeat(17 * 1024) });

    // Act
    const answers = await Promise.all(
      [big, '{"url":', '["https://hooks.contoso.com/x"]'].map((text) =>
        t.call('/api/subscriptions', post(text)),
      ),
    );
    const notJson = await t.call('/api/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"url":"https://hooks.contoso.com/x"}',
    });

    // Assess
    expect(answers.map((a) => [a.status, (a.body as { error: { target: string } }).error.target])).toEqual([
      [400, 'body'],
      [400, 'body'],
      [400, 'body'],
    ]);
    expect(notJson.status).toBe(400);
    expect(await subscriptionCount()).toBe(before);
  });

  it('answers 404 with target id for a rotation or deliveries of an unknown subscription', async () => {
    // Act
    const rotate = await t.call(`/api/subscriptions/${'1'.repeat(32)}/rotate-secret`, { method: 'POST' });
    const deliveries = await t.call('/api/subscriptions/not-an-id/deliveries');

    // Assess
    expect([rotate.status, deliveries.status]).toEqual([404, 404]);
    expect((rotate.body as { error: { target: string } }).error.target).toBe('id');
  });
});

describe('GET /api/subscriptions/{id}/deliveries', () => {
  it('lists the delivery log newest first, page by page through nextLink', async () => {
    // Prepare
    const { id } = (await t.call('/api/subscriptions', post({ url: 'https://hooks.contoso.com/d' })))
      .body as SubscriptionView;
    const { deliveryLog } = await getServices();
    const record = (n: number, fields: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
      subscriptionId: id,
      eventId: `evt_${n}`,
      type: 'job.statusChanged',
      jobId: 'b'.repeat(32),
      status: 'pending',
      attempts: 0,
      ...fields,
    });
    for (let n = 1; n <= 3; n++) {
      await deliveryLog.upsert(record(n));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const at = new Date().toISOString();
    await deliveryLog.upsert(
      record(1, { status: 'failed', attempts: 9, lastAttemptAt: at, lastHttpStatus: 503 }),
    );

    // Act
    const first = await t.call(`/api/subscriptions/${id}/deliveries?top=2`);
    const nextLink = (first.body as { nextLink: string }).nextLink;
    const second = await t.call(new URL(nextLink).pathname + new URL(nextLink).search);

    // Assess
    expect(first.status).toBe(200);
    expect(nextLink).toMatch(new RegExp(`^${t.url}/api/subscriptions/${id}/deliveries\\?top=2&skipToken=`));
    expect(first.body).toMatchObject({
      value: [
        { eventId: 'evt_3', status: 'pending', attempts: 0, lastAttemptAt: null },
        { eventId: 'evt_2', status: 'pending' },
      ],
    });
    expect(second.body).toEqual({
      value: [
        {
          eventId: 'evt_1',
          type: 'job.statusChanged',
          jobId: 'b'.repeat(32),
          status: 'failed',
          attempts: 9,
          lastAttemptAt: at,
          lastHttpStatus: 503,
        },
      ],
    });
  });
});
