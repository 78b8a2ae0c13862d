import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_ERROR_RESPONSES } from '../../dev/simulator/facePersonGroup';
import { LANGUAGE_ERROR_RESPONSES } from '../../dev/simulator/languageShapes';
import { CANARY_KEY, SECRET_NAME, startTestStack, type TestStack } from '../support/testStack';

/**
 * Every row of docs/spec.md §4, through the app over HTTP against the upstream simulator. Each poll is triggered with
 * POST /api/jobs/{id}/refresh (the same path as the cycle); the pause rows each get their own resource.
 */
let t: TestStack;
const now = new Date();
const minutes = (n: number): Date => new Date(now.getTime() + n * 60_000);

interface StatusBody {
  status: string;
  upstreamStatus: string | null;
  nextCheckAt: string | null;
  percentComplete?: number;
  lastError: {
    code: string;
    httpStatus?: number;
    upstreamCode?: string;
    retryAt?: string;
    message: string;
  } | null;
}

beforeAll(async () => {
  t = await startTestStack({
    simulators: {
      main: {},
      rate: { budget: '60/min' },
      quota: { budget: '60/min' },
      auth: {},
      cycle: { budget: '60/min' },
    },
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

async function refresh(id: string): Promise<{ status: number; body: StatusBody }> {
  const response = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
  return { status: response.status, body: response.body as StatusBody };
}

async function faceJob(
  sim: string,
  personGroupId: string,
  trained = true,
  keySecretName = SECRET_NAME,
): Promise<string> {
  t.sims[sim]!.addFaceGroup(personGroupId, {
    createdAt: minutes(-30),
    trainings: trained ? [{ startAt: minutes(-2), durationMs: 3_600_000, outcome: 'succeeded' }] : [],
  });
  return t.register(sim, { kind: 'face.personGroup', personGroupId, keySecretName });
}

/** The 401 rows rotate keys: they use a secret of their own so other jobs keep theirs. */
const AUTH_SECRET = 'auth-rows-key';

const secondsUntil = (iso: string | null | undefined): number => (Date.parse(iso ?? '') - Date.now()) / 1000;

describe('200', () => {
  it('updates the status and schedules the next check at the job interval', async () => {
    // Prepare
    t.sims.main!.addLanguageJob('Proj', 'ok-1', {
      createdAt: minutes(-3),
      startAt: minutes(-1),
      durationMs: 600_000,
      outcome: 'succeeded',
    });
    const id = await t.register('main', {
      kind: 'language.textAuthoring',
      projectName: 'Proj',
      jobId: 'ok-1',
      pollIntervalSeconds: 30,
    });

    // Act
    const { status, body } = await refresh(id);

    // Assess
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'running', upstreamStatus: 'running', lastError: null });
    expect(body.percentComplete).toBeGreaterThan(0);
    expect(secondsUntil(body.nextCheckAt)).toBeGreaterThan(20);
    expect(secondsUntil(body.nextCheckAt)).toBeLessThanOrEqual(30);
  });

  it('stops polling a Language job once it is terminal', async () => {
    // Prepare
    t.sims.main!.addLanguageJob('Proj', 'done-1', {
      createdAt: minutes(-30),
      startAt: minutes(-20),
      durationMs: 60_000,
      outcome: 'succeeded',
    });
    const id = await t.register('main', {
      kind: 'language.textAuthoring',
      projectName: 'Proj',
      jobId: 'done-1',
    });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body).toMatchObject({ status: 'succeeded', nextCheckAt: null, percentComplete: 100 });
  });
});

describe('401', () => {
  it('re-reads a rotated key from Key Vault once and succeeds on the retry', async () => {
    // Prepare
    t.stack.vault!.setSecret(AUTH_SECRET, CANARY_KEY);
    const id = await faceJob('auth', 'rotated', true, AUTH_SECRET);
    await refresh(id); // warms the key cache with the old key
    const rotated = `${CANARY_KEY}-ROTATED`;
    t.stack.vault!.setSecret(AUTH_SECRET, rotated);
    t.sims.auth!.setKeys([rotated]);
    const readsBefore = t.stack.vault!.reads.get(AUTH_SECRET) ?? 0;
    t.sims.auth!.resetCalls();

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body).toMatchObject({ status: 'running', lastError: null });
    expect((t.stack.vault!.reads.get(AUTH_SECRET) ?? 0) - readsBefore).toBe(1);
    expect(t.sims.auth!.calls.map((c) => c.status)).toEqual([401, 200]);
  });

  it('backs off 15 minutes when the fresh key is refused too', async () => {
    // Prepare
    const id = await faceJob('auth', 'refused', true, AUTH_SECRET);
    t.sims.auth!.setKeys(['a-key-the-vault-does-not-have']);
    t.sims.auth!.resetCalls();

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.lastError).toMatchObject({ code: 'Unauthorized', httpStatus: 401 });
    expect(t.sims.auth!.calls).toHaveLength(2);
    expect(secondsUntil(body.nextCheckAt) / 60).toBeGreaterThan(14);
    expect(secondsUntil(body.nextCheckAt) / 60).toBeLessThan(17);
  });
});

describe('403', () => {
  it('suspends the whole resource until the quota is replenished, and does not call its other jobs', async () => {
    // Prepare
    const first = await faceJob('quota', 'q1');
    const second = await faceJob('quota', 'q2');
    t.sims.quota!.injectFault({ response: FACE_ERROR_RESPONSES.quota403 });

    // Act
    const { body } = await refresh(first);
    const callsAfter = t.sims.quota!.calls.length;
    const other = await t.call(`/api/jobs/${second}/refresh`, { method: 'POST' });

    // Assess
    expect(body.lastError).toMatchObject({ code: 'QuotaExceeded', httpStatus: 403 });
    expect(secondsUntil(body.lastError!.retryAt) / 86_400).toBeGreaterThan(2.1); // "replenished in 2.12 days"
    expect(other.status).toBe(429);
    expect(Number(other.headers.get('retry-after'))).toBeGreaterThan(86_400);
    expect(t.sims.quota!.calls.length).toBe(callsAfter);
  });

  it('backs off one hour on any other 403', async () => {
    // Prepare
    t.sims.main!.addLanguageJob('Proj', 'forbidden', {
      createdAt: minutes(-3),
      startAt: minutes(-1),
      durationMs: 600_000,
      outcome: 'succeeded',
    });
    const id = await t.register('main', {
      kind: 'language.textAuthoring',
      projectName: 'Proj',
      jobId: 'forbidden',
    });
    t.sims.main!.injectFault({ match: { path: /forbidden/ }, response: LANGUAGE_ERROR_RESPONSES.Forbidden });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.lastError).toMatchObject({ code: 'Forbidden', httpStatus: 403 });
    expect(secondsUntil(body.nextCheckAt) / 60).toBeGreaterThan(59);
  });
});

describe('404', () => {
  it('reads PersonGroupNotTrained as notStarted', async () => {
    // Prepare
    const id = await faceJob('main', 'never-trained', false);

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body).toMatchObject({
      status: 'notStarted',
      upstreamStatus: 'PersonGroupNotTrained',
      lastError: null,
    });
  });

  it('marks a missing resource notFound and polls it at the idle interval', async () => {
    // Prepare
    const id = await t.register('main', { kind: 'face.personGroup', personGroupId: 'no-such-group' });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body).toMatchObject({
      status: 'notFound',
      lastError: { code: 'NotFound', upstreamCode: 'PersonGroupNotFound' },
    });
    expect(secondsUntil(body.nextCheckAt) / 60).toBeGreaterThan(14); // IDLE_INTERVAL_SECONDS default 900
  });

  it('keeps a terminal Language status when the expired job answers 404', async () => {
    // Prepare
    t.sims.main!.addLanguageJob('Proj', 'expiring', {
      createdAt: minutes(-30),
      startAt: minutes(-20),
      durationMs: 60_000,
      outcome: 'failed',
    });
    const id = await t.register('main', {
      kind: 'language.textAuthoring',
      projectName: 'Proj',
      jobId: 'expiring',
    });
    await refresh(id);
    t.sims.main!.removeLanguageJob('Proj', 'expiring');

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.status).toBe('failed');
    expect(body.lastError).toMatchObject({ code: 'NotFound' });
  });
});

describe('409, 429, 5xx, timeouts, bad bodies, redirects, Key Vault', () => {
  it('retries a 409 conflict at the next cycle', async () => {
    // Prepare
    const id = await faceJob('main', 'conflicted');
    t.sims.main!.injectFault({ match: { path: /conflicted/ }, response: FACE_ERROR_RESPONSES.conflict409 });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.lastError).toMatchObject({ code: 'Conflict', httpStatus: 409 });
    expect(secondsUntil(body.nextCheckAt)).toBeLessThanOrEqual(1);
  });

  it('pauses the whole resource on a 429 for the time the body asks, and a cycle calls none of its other jobs', async () => {
    // Prepare
    const ids = [await faceJob('cycle', 'c1'), await faceJob('cycle', 'c2'), await faceJob('cycle', 'c3')];
    t.sims.cycle!.injectFault({ response: FACE_ERROR_RESPONSES.rateLimited429 }); // "Try again in 26 seconds", no header
    t.sims.cycle!.resetCalls();

    // Act
    await t.runCycle();
    const statuses = await Promise.all(
      ids.map(async (id) => (await t.call(`/api/jobs/${id}/status`)).body as StatusBody),
    );

    // Assess
    expect(t.sims.cycle!.calls).toHaveLength(1);
    const limited = statuses.filter((s) => s.lastError?.code === 'RateLimited');
    expect(limited).toHaveLength(1);
    expect(secondsUntil(limited[0]!.lastError!.retryAt)).toBeGreaterThan(20);
    const untouched = statuses.filter((s) => s.lastError === null);
    expect(untouched).toHaveLength(2); // not called: still pending and due
    expect(untouched.every((s) => s.status === 'pending' && secondsUntil(s.nextCheckAt) <= 0)).toBe(true);
  });

  it('honours Retry-After on a 429 for that resource', async () => {
    // Prepare
    const id = await faceJob('rate', 'r1');
    t.sims.rate!.injectFault({
      response: {
        status: 429,
        headers: { 'retry-after': '90' },
        body: { error: { statusCode: 429, message: 'Rate limit is exceeded.' } },
      },
    });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.lastError).toMatchObject({ code: 'RateLimited', httpStatus: 429 });
    expect(secondsUntil(body.lastError!.retryAt)).toBeGreaterThan(85);
  });

  it.each([
    [
      'a 500',
      { response: { status: 500, body: { error: { code: 'InternalServerError', message: 'boom' } } } },
    ],
    ['a 503', { response: { status: 503, body: 'Service Unavailable' } }],
    ['a connection reset', { response: { reset: true as const } }],
    ['a hung call (timeout)', { response: { hang: true as const } }],
  ])('backs off with UpstreamUnavailable on %s, keeping the last good status', async (name, fault) => {
    // Prepare
    const group = `unavailable-${name.replace(/\W+/g, '-')}`;
    const id = await faceJob('main', group);
    await refresh(id);
    t.sims.main!.injectFault({ match: { path: new RegExp(group) }, ...fault });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.status).toBe('running');
    expect(body.lastError).toMatchObject({ code: 'UpstreamUnavailable' });
    expect(secondsUntil(body.nextCheckAt)).toBeGreaterThan(25);
  });

  it('keeps the status and backs off with InvalidResponse on a 200 that is not the documented shape', async () => {
    // Prepare
    const id = await faceJob('main', 'bad-body');
    await refresh(id);
    t.sims.main!.injectFault({
      match: { path: /bad-body/ },
      response: { status: 200, body: '<html>Welcome</html>' },
    });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.status).toBe('running');
    expect(body.lastError).toMatchObject({ code: 'InvalidResponse' });
  });

  it('never follows a redirect: InvalidResponse, and the target receives nothing', async () => {
    // Prepare
    const id = await faceJob('main', 'redirected');
    const target = t.sims.auth!;
    target.resetCalls();
    t.sims.main!.injectFault({
      match: { path: /redirected/ },
      response: { redirectTo: `${target.origin}/steal`, status: 307 },
    });

    // Act
    const { body } = await refresh(id);

    // Assess
    expect(body.lastError).toMatchObject({ code: 'InvalidResponse' });
    expect(target.calls).toHaveLength(0);
  });

  it('backs off one job with SecretUnavailable when its secret is missing, while other jobs go on', async () => {
    // Prepare
    t.sims.main!.addFaceGroup('no-secret', { createdAt: minutes(-30), trainings: [] });
    const missing = await t.register('main', {
      kind: 'face.personGroup',
      personGroupId: 'no-secret',
      keySecretName: 'not-in-the-vault',
    });
    const fine = await faceJob('main', 'has-secret');

    // Act
    const broken = await refresh(missing);
    const ok = await refresh(fine);

    // Assess
    expect(broken.body).toMatchObject({ status: 'pending', lastError: { code: 'SecretUnavailable' } });
    expect(secondsUntil(broken.body.nextCheckAt)).toBeGreaterThan(25);
    expect(ok.body).toMatchObject({ status: 'running', lastError: null });
  });
});
