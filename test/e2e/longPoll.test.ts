/*
 * The long-poll of GET /api/jobs/{id}/status (docs/spec.md §7) through the local host, in real time with jitter:
 * refreshes and cycles land at random moments of the wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices } from '../../functions/services';
import { startTestStack, type TestStack } from '../support/testStack';

let t: TestStack;
const now = new Date();
const minutes = (n: number): Date => new Date(now.getTime() + n * 60_000);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** 200 to 1,500 ms. */
const jitter = (): number => 200 + Math.floor(Math.random() * 1_300);

beforeAll(async () => {
  t = await startTestStack({ simulators: { main: {} } });
  for (const group of ['lp-refresh', 'lp-cycle', 'lp-still', 'lp-gone']) {
    t.sims.main!.addFaceGroup(group, {
      createdAt: minutes(-10),
      trainings: [{ startAt: minutes(-1), durationMs: 3_600_000, outcome: 'succeeded' }],
    });
  }
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

async function statusEtag(id: string): Promise<string> {
  const response = await t.call(`/api/jobs/${id}/status`);
  return response.headers.get('etag')!;
}

function longPoll(id: string, etag: string, wait: string, signal?: AbortSignal) {
  return t.call(`/api/jobs/${id}/status`, {
    headers: { 'if-none-match': etag, prefer: `wait=${wait}` },
    ...(signal ? { signal } : {}),
  });
}

describe('GET /api/jobs/{id}/status with Prefer: wait', () => {
  it('answers 200 within 5 s of a refresh changing the status', async () => {
    // Prepare
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'lp-refresh' });
    await t.runCycle();
    const etag = await statusEtag(id);

    // Act
    const answer = longPoll(id, etag, '60').then((response) => ({ response, at: Date.now() }));
    await sleep(jitter());
    const refresh = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    const refreshedAt = Date.now();
    const { response, at } = await answer;

    // Assess
    expect(refresh.status).toBe(200);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).not.toBe(etag);
    expect(response.headers.get('preference-applied')).toBe('wait=60');
    expect((response.body as { checkedAt: string }).checkedAt).toBe(
      (refresh.body as { checkedAt: string }).checkedAt,
    );
    expect(at - refreshedAt).toBeLessThan(5_000);
  });

  it('answers 200 within 5 s of a poll cycle changing the status', async () => {
    // Prepare: a new job is due at once, so the next cycle polls it
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'lp-cycle' });
    const etag = await statusEtag(id);

    // Act
    const answer = longPoll(id, etag, '60').then((response) => ({ response, at: Date.now() }));
    await sleep(jitter());
    await t.runCycle();
    const cycleSeenAt = Date.now();
    const { response, at } = await answer;

    // Assess
    expect(response.status).toBe(200);
    expect((response.body as { status: string }).status).toBe('running');
    expect(at - cycleSeenAt).toBeLessThan(5_000);
  });

  it('answers 304 after N seconds when the status does not change', async () => {
    // Prepare
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'lp-still' });
    await t.runCycle();
    const etag = await statusEtag(id);
    const askedAt = Date.now();

    // Act
    const response = await longPoll(id, etag, '2');

    // Assess
    expect(response.status).toBe(304);
    expect(response.headers.get('etag')).toBe(etag);
    expect(response.headers.get('preference-applied')).toBe('wait=2');
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(1_900);
  });

  it('clamps wait=999 to 200 and says so in Preference-Applied', async () => {
    // Prepare
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'lp-still' });

    // Act: an ETag the client holds is stale, so the answer comes at once
    const response = await longPoll(id, '"stale"', '999');

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('preference-applied')).toBe('wait=200');
  });

  it('answers HEAD with Prefer at once, without waiting', async () => {
    // Prepare
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'lp-still' });
    const etag = await statusEtag(id);
    const askedAt = Date.now();

    // Act
    const response = await t.call(`/api/jobs/${id}/status`, {
      method: 'HEAD',
      headers: { 'if-none-match': etag, prefer: 'wait=30' },
    });

    // Assess
    expect(response.status).toBe(304);
    expect(response.headers.get('preference-applied')).toBeNull();
    expect(Date.now() - askedAt).toBeLessThan(5_000);
  });

  it('frees the waiter of a client that disconnects', async () => {
    // Prepare
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'lp-gone' });
    await t.runCycle();
    const etag = await statusEtag(id);
    const { statusWaits } = await getServices();
    const gone = new AbortController();

    // Act
    const answer = longPoll(id, etag, '120', gone.signal).catch((error: unknown) => error);
    await sleep(jitter());
    const waitingBefore = statusWaits.waiting();
    gone.abort();
    await answer;
    let waitingAfter = statusWaits.waiting();
    for (let i = 0; i < 40 && waitingAfter > 0; i++) {
      await sleep(50);
      waitingAfter = statusWaits.waiting();
    }

    // Assess
    expect(waitingBefore).toBe(1);
    expect(waitingAfter).toBe(0);
  });
});
