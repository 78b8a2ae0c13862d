import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_ERROR_RESPONSES } from '../../dev/simulator/facePersonGroup';
import { CANARY_KEY, startTestStack, type TestStack } from '../support/testStack';

let t: TestStack;
const now = new Date();
const minutes = (n: number): Date => new Date(now.getTime() + n * 60_000);

beforeAll(async () => {
  t = await startTestStack({ simulators: { main: {}, paused: { budget: '60/min' }, limited: {} } });
  const sim = t.sims.main!;
  sim.addFaceGroup('g-running', {
    createdAt: minutes(-10),
    trainings: [{ startAt: minutes(-1), durationMs: 3_600_000, outcome: 'succeeded' }],
  });
  sim.addFaceGroup('g-done', {
    createdAt: minutes(-10),
    trainings: [{ startAt: minutes(-5), durationMs: 60_000, outcome: 'succeeded' }],
  });
  for (let i = 0; i < 5; i++) {
    sim.addLanguageJob('Proj', `job-${i}`, {
      createdAt: minutes(-2),
      startAt: minutes(-1),
      durationMs: 600_000,
      outcome: 'succeeded',
    });
  }
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('POST /api/jobs', () => {
  it('registers a job once: 201 with Location, then 200 with the same job', async () => {
    // Prepare
    const body = {
      kind: 'face.personGroup',
      endpoint: t.sims.main!.origin,
      keySecretName: 'test-upstream-key',
      personGroupId: 'g-running',
    };

    // Act
    const first = await t.call('/api/jobs', json(body));
    const second = await t.call('/api/jobs', json({ ...body, displayName: 'ignored on repeat' }));

    // Assess
    expect(first.status).toBe(201);
    const job = first.body as { id: string; status: { status: string }; personGroupId: string };
    expect(first.headers.get('location')).toBe(`${t.url}/api/jobs/${job.id}`);
    expect(job.status.status).toBe('pending');
    expect(job.personGroupId).toBe('g-running');
    expect(second.status).toBe(200);
    expect((second.body as { id: string }).id).toBe(job.id);
  });

  it.each([
    ['an unknown kind', { kind: 'face.nope' }, 'kind'],
    ['an endpoint that is not allowed', { endpoint: 'https://evil.example.com' }, 'endpoint'],
    ['an invalid person group id', { personGroupId: 'Has Spaces' }, 'personGroupId'],
    ['an invalid secret name', { keySecretName: 'under_score' }, 'keySecretName'],
    ['an unknown field', { subscriptionKey: 'abc' }, 'subscriptionKey'],
    ['an interval below the minimum', { pollIntervalSeconds: 1 }, 'pollIntervalSeconds'],
    ['an unsupported api version', { apiVersion: 'v9' }, 'apiVersion'],
  ])('refuses %s with 400, a target, and stores nothing', async (_, override, target) => {
    // Prepare
    const before = await t.call('/api/jobs?top=100');
    const body = {
      kind: 'face.personGroup',
      endpoint: t.sims.main!.origin,
      keySecretName: 'k1',
      personGroupId: 'g-new',
      ...override,
    };

    // Act
    const response = await t.call('/api/jobs', json(body));

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'InvalidArgument', target } });
    const after = await t.call('/api/jobs?top=100');
    expect((after.body as { value: unknown[] }).value).toHaveLength(
      (before.body as { value: unknown[] }).value.length,
    );
  });

  it('refuses a body over 16 KiB and a body that is not JSON', async () => {
    // Act
    const big = await t.call(
      '/api/jobs',
      json({ kind: 'face.personGroup', displayName: 'x'.repeat(17 * 1024) }),
    );
    const notJson = await t.call('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"kind":',
    });
    const form = await t.call('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });

    // Assess
    expect(big.status).toBe(400);
    expect(big.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'body' } });
    expect(notJson.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'body' } });
    expect(form.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'Content-Type' } });
  });
});

describe('GET /api/jobs', () => {
  it('lists every job exactly once through nextLink, and filters by kind and status', async () => {
    // Prepare
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++)
      ids.add(
        await t.register('main', { kind: 'language.textAuthoring', projectName: 'Proj', jobId: `job-${i}` }),
      );

    // Act
    const seen: string[] = [];
    let next: string | undefined = '/api/jobs?kind=language.textAuthoring&top=2';
    while (next) {
      const page = await t.call(next.replace(t.url, ''));
      expect(page.status).toBe(200);
      const body = page.body as { value: { id: string; kind: string }[]; nextLink?: string };
      expect(body.value.length).toBeLessThanOrEqual(2);
      seen.push(...body.value.map((j) => j.id));
      next = body.nextLink;
    }
    const pending = await t.call('/api/jobs?status=pending&kind=language.textAuthoring');
    const bad = await t.call('/api/jobs?top=1000');
    const badStatus = await t.call('/api/jobs?status=done');

    // Assess
    expect(seen.sort()).toEqual([...ids].sort());
    expect(
      (pending.body as { value: { status: { status: string } }[] }).value.every(
        (j) => j.status.status === 'pending',
      ),
    ).toBe(true);
    expect(bad.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'top' } });
    expect(badStatus.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'status' } });
  });

  it('answers a forged continuation token with 400', async () => {
    // Act
    const response = await t.call('/api/jobs?skipToken=eyJmb3JnZWQiOnRydWV9');

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'InvalidArgument' } });
  });
});

describe('GET /api/jobs/{id} and /status', () => {
  it('returns the registration fields with the status object, and 404 for an unknown id', async () => {
    // Prepare
    const id = await t.register('main', {
      kind: 'face.personGroup',
      personGroupId: 'g-done',
      displayName: 'Done group',
    });

    // Act
    const job = await t.call(`/api/jobs/${id}`);
    const missing = await t.call('/api/jobs/0123456789abcdef0123456789abcdef');
    const garbage = await t.call('/api/jobs/..%2F..%2Fhealth');

    // Assess
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id,
      kind: 'face.personGroup',
      endpoint: t.sims.main!.origin,
      personGroupId: 'g-done',
      keySecretName: 'test-upstream-key',
      apiVersion: 'v1.0',
      pollIntervalSeconds: 60,
      displayName: 'Done group',
      status: { id, status: 'pending', lastError: null },
    });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NotFound', target: 'id' } });
    expect(garbage.status).toBe(404);
  });

  it('serves the status from one Table point read, with no upstream call, and 304 on a matching ETag', async () => {
    // Prepare
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-running' });
    await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    const upstreamCalls = t.sims.main!.calls.length;
    t.tables.resetCount();

    // Act
    const first = await t.call(`/api/jobs/${id}/status`);
    const tableCalls = t.tables.requests.length;
    const again = await t.call(`/api/jobs/${id}/status`, {
      headers: { 'if-none-match': first.headers.get('etag')! },
    });

    // Assess
    expect(first.status).toBe(200);
    expect(tableCalls).toBe(1);
    expect(t.tables.requests[0]!.method).toBe('GET');
    expect(t.sims.main!.calls.length).toBe(upstreamCalls);
    expect(first.body).toMatchObject({
      id,
      kind: 'face.personGroup',
      status: 'running',
      upstreamStatus: 'running',
      lastError: null,
    });
    expect(first.headers.get('etag')).toMatch(/^".+"$/);
    const maxAge = Number(/max-age=(\d+)/.exec(first.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(60);
    expect(Date.parse(first.headers.get('last-modified')!)).toBeGreaterThan(0);
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });
});

describe('POST /api/jobs/{id}/refresh, GET history, DELETE', () => {
  it('polls now and records each transition in the history, newest first', async () => {
    // Prepare
    t.sims.main!.addFaceGroup('g-history', { createdAt: minutes(-10), trainings: [] });
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-history' });

    // Act
    const untrained = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    t.sims.main!.retrainFaceGroup('g-history', {
      startAt: minutes(-1),
      durationMs: 3_600_000,
      outcome: 'succeeded',
    });
    const running = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    const history = await t.call(`/api/jobs/${id}/history`);
    const firstPage = await t.call(`/api/jobs/${id}/history?top=1`);

    // Assess
    expect(untrained.status).toBe(200);
    expect(untrained.body).toMatchObject({ status: 'notStarted', upstreamStatus: 'PersonGroupNotTrained' });
    expect(running.body).toMatchObject({ status: 'running' });
    const entries = (history.body as { value: { status: string; at: string }[] }).value;
    expect(entries.map((e) => e.status)).toEqual(['running', 'notStarted', 'pending']);
    expect((firstPage.body as { value: unknown[]; nextLink?: string }).value).toHaveLength(1);
    expect((firstPage.body as { nextLink?: string }).nextLink).toContain(`/api/jobs/${id}/history?`);
  });

  it('answers 429 with Retry-After when the resource is paused, without calling it', async () => {
    // Prepare
    const sim = t.sims.paused!;
    sim.addFaceGroup('p1', { createdAt: minutes(-10), trainings: [] });
    sim.addFaceGroup('p2', { createdAt: minutes(-10), trainings: [] });
    const p1 = await t.register('paused', { kind: 'face.personGroup', personGroupId: 'p1' });
    const p2 = await t.register('paused', { kind: 'face.personGroup', personGroupId: 'p2' });
    sim.injectFault({
      response: {
        status: 429,
        headers: { 'retry-after': '120' },
        body: { error: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 120 seconds.' } },
      },
    });

    // Act
    const throttled = await t.call(`/api/jobs/${p1}/refresh`, { method: 'POST' });
    const callsAfterPause = sim.calls.length;
    const refused = await t.call(`/api/jobs/${p2}/refresh`, { method: 'POST' });

    // Assess
    expect(throttled.status).toBe(200);
    expect(throttled.body).toMatchObject({ lastError: { code: 'RateLimited', httpStatus: 429 } });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'TooManyRequests' } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(100);
    expect(sim.calls.length).toBe(callsAfterPause);
  });

  it('deletes a job: 204, then 404, and the poll cycle no longer calls it', async () => {
    // Prepare
    t.sims.main!.addFaceGroup('g-deleted', { createdAt: minutes(-10), trainings: [] });
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-deleted' });

    // Act
    const deleted = await t.call(`/api/jobs/${id}`, { method: 'DELETE' });
    const after = await t.call(`/api/jobs/${id}/status`);
    await t.runCycle();

    // Assess
    expect(deleted.status).toBe(204);
    expect(after.status).toBe(404);
    expect(t.sims.main!.calls.some((c) => c.path.includes('g-deleted'))).toBe(false);
  });
});

describe('the poll cycle and GET /api/health', () => {
  it('polls due jobs when pollJobs runs through the admin endpoint and reports the cycle in health', async () => {
    // Prepare
    t.sims.main!.addFaceGroup('g-cycle', {
      createdAt: minutes(-10),
      trainings: [{ startAt: minutes(-1), durationMs: 3_600_000, outcome: 'succeeded' }],
    });
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-cycle' });

    // Act
    await t.runCycle();
    const status = await t.call(`/api/jobs/${id}/status`);
    const health = await t.call('/api/health');

    // Assess
    expect(status.body).toMatchObject({ status: 'running' });
    const body = health.body as {
      status: string;
      lastCycle: { startedAt: string; finishedAt: string; polled: number; errors: number };
    };
    expect(health.status).toBe(200);
    expect(body.lastCycle.polled).toBeGreaterThanOrEqual(1);
    expect(Date.parse(body.lastCycle.finishedAt)).toBeGreaterThanOrEqual(
      Date.parse(body.lastCycle.startedAt),
    );
    expect(health.text).not.toContain(id);
    expect(health.text).not.toContain('g-cycle');
  });

  it('stays healthy when upstreams answer 404 and 429, counting them apart in lastCycle.upstreamErrors', async () => {
    // Prepare: a group the upstream does not know (404), and a resource that answers 429.
    const missing = await t.register('main', { kind: 'face.personGroup', personGroupId: 'g-not-upstream' });
    t.sims.limited!.addFaceGroup('l-health', { createdAt: minutes(-10), trainings: [] });
    const limited = await t.register('limited', { kind: 'face.personGroup', personGroupId: 'l-health' });
    t.sims.limited!.injectFault({ response: FACE_ERROR_RESPONSES.rateLimited429 });

    // Act
    await t.runCycle();
    const health = await t.call('/api/health');
    const missingStatus = await t.call(`/api/jobs/${missing}/status`);
    const limitedStatus = await t.call(`/api/jobs/${limited}/status`);

    // Assess
    expect(missingStatus.body).toMatchObject({ lastError: { code: 'NotFound', httpStatus: 404 } });
    expect(limitedStatus.body).toMatchObject({ lastError: { code: 'RateLimited', httpStatus: 429 } });
    expect(health.body).toMatchObject({ status: 'healthy', lastCycle: { errors: 0 } });
    const { upstreamErrors } = (health.body as { lastCycle: { upstreamErrors: number } }).lastCycle;
    expect(upstreamErrors).toBeGreaterThanOrEqual(2);
  });

  it('turns degraded on a fault of the service itself: a key that Key Vault cannot give', async () => {
    // Prepare
    t.sims.main!.addFaceGroup('g-no-key', { createdAt: minutes(-10), trainings: [] });
    const id = await t.register('main', {
      kind: 'face.personGroup',
      personGroupId: 'g-no-key',
      keySecretName: 'no-such-secret',
    });

    // Act
    await t.runCycle();
    const health = await t.call('/api/health');
    await t.call(`/api/jobs/${id}`, { method: 'DELETE' });

    // Assess
    expect(health.body).toMatchObject({ status: 'degraded', lastCycle: { errors: 1 } });
  });

  it('never returns or logs the subscription key', async () => {
    // Act
    const list = await t.call('/api/jobs?top=100');

    // Assess
    expect(list.text).not.toContain(CANARY_KEY);
    expect(t.logs.join('\n')).not.toContain(CANARY_KEY);
    expect(t.logs.some((l) => l.includes('job polled'))).toBe(true);
  });
});
