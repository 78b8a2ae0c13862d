import { afterEach, describe, expect, it } from 'vitest';
import { FACE_ERRORS } from '../../dev/simulator/facePersonGroup';
import { LANGUAGE_ERRORS } from '../../dev/simulator/languageShapes';
import { formatUsDate } from '../../dev/simulator/types';
import {
  startUpstreamSimulator,
  type UpstreamSimulator,
  type UpstreamSimulatorOptions,
} from '../../dev/upstreamSimulator';
import { getAdapter } from '../../shared/upstream/registry';

const KEY = 'sim-key';
const SECOND = 1000;
const MINUTE = 60 * SECOND;

interface TestClock {
  now: () => Date;
  set(iso: string): void;
  advance(ms: number): void;
}

function testClock(startIso: string): TestClock {
  let t = Date.parse(startIso);
  return {
    now: () => new Date(t),
    set: (iso) => {
      t = Date.parse(iso);
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

const running: UpstreamSimulator[] = [];

async function start(options: UpstreamSimulatorOptions = {}): Promise<UpstreamSimulator> {
  const sim = await startUpstreamSimulator(options);
  running.push(sim);
  return sim;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.stop()));
});

function get(
  sim: UpstreamSimulator,
  path: string,
  key: string | undefined = KEY,
  init: RequestInit = {},
): Promise<Response> {
  const headers: Record<string, string> = key === undefined ? {} : { 'Ocp-Apim-Subscription-Key': key };
  return fetch(`${sim.origin}${path}`, { ...init, headers });
}

const facePath = (groupId: string, version = 'v1.0'): string =>
  `/face/${version}/persongroups/${groupId}/training`;
const languagePath = (project: string, jobId: string, apiVersion: string | null = '2022-05-01'): string =>
  `/language/authoring/analyze-text/projects/${project}/train/jobs/${jobId}` +
  (apiVersion === null ? '' : `?api-version=${apiVersion}`);

describe('Face person-group training status', () => {
  it('answers 404 PersonGroupNotTrained with the seed body before the first training is queued', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:00:00Z');
    const sim = await start({ now: clock.now });
    sim.addFaceGroup('group-1', {
      createdAt: new Date('2024-05-01T09:00:00Z'),
      trainings: [{ startAt: new Date('2024-05-01T10:05:00Z'), durationMs: MINUTE, outcome: 'succeeded' }],
    });

    // Act
    const res = await get(sim, facePath('group-1'));

    // Assess
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(FACE_ERRORS.personGroupNotTrained);
  });

  it('goes notstarted, running, then succeeded as the simulator clock passes the run', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:00:00Z');
    const sim = await start({ now: clock.now });
    sim.addFaceGroup('group-1', {
      createdAt: new Date('2024-05-01T09:00:00Z'),
      trainings: [
        {
          queuedAt: new Date('2024-05-01T10:00:00Z'),
          startAt: new Date('2024-05-01T10:00:10Z'),
          durationMs: 90 * SECOND,
          outcome: 'succeeded',
        },
      ],
    });

    // Act
    const queued = await (await get(sim, facePath('group-1'))).json();
    clock.set('2024-05-01T10:00:30Z');
    const during = await (await get(sim, facePath('group-1'))).json();
    clock.set('2024-05-01T10:01:40Z');
    const after = await (await get(sim, facePath('group-1'))).json();

    // Assess
    expect(queued).toEqual({
      status: 'notstarted',
      createdDateTime: '5/1/2024 9:00:00 AM',
      lastActionDateTime: '5/1/2024 10:00:00 AM',
      message: null,
    });
    expect(during).toEqual({
      status: 'running',
      createdDateTime: '5/1/2024 9:00:00 AM',
      lastActionDateTime: '5/1/2024 10:00:10 AM',
      message: null,
    });
    expect(after).toEqual({
      status: 'succeeded',
      createdDateTime: '5/1/2024 9:00:00 AM',
      lastActionDateTime: '5/1/2024 10:01:40 AM',
      message: null,
    });
  });

  it('writes dates in the Face M/D/YYYY h:mm:ss AM format in UTC, with 12 for midnight and noon', async () => {
    // Prepare
    const clock = testClock('2017-01-03T14:00:00Z');
    const sim = await start({ now: clock.now });
    sim.addFaceGroup('sample_group', {
      createdAt: new Date('2017-01-03T04:11:35Z'),
      trainings: [{ startAt: new Date('2017-01-03T13:04:09Z'), durationMs: MINUTE, outcome: 'succeeded' }],
    });

    // Act
    const body = (await (await get(sim, facePath('sample_group'))).json()) as Record<string, unknown>;

    // Assess
    expect(body.createdDateTime).toBe('1/3/2017 4:11:35 AM');
    expect(body.lastActionDateTime).toBe('1/3/2017 1:05:09 PM');
    expect(formatUsDate(new Date('2023-12-31T00:00:05Z'))).toBe('12/31/2023 12:00:05 AM');
    expect(formatUsDate(new Date('2023-07-04T12:30:00Z'))).toBe('7/4/2023 12:30:00 PM');
  });

  it('answers failed with its message when the run fails', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:05:00Z');
    const sim = await start({ now: clock.now });
    sim.addFaceGroup('empty', {
      createdAt: new Date('2024-05-01T09:00:00Z'),
      trainings: [
        {
          startAt: new Date('2024-05-01T10:00:00Z'),
          durationMs: MINUTE,
          outcome: 'failed',
          message: 'No persons.',
        },
      ],
    });

    // Act
    const body = (await (await get(sim, facePath('empty'))).json()) as Record<string, unknown>;

    // Assess
    expect(body.status).toBe('failed');
    expect(body.message).toBe('No persons.');
  });

  it('reports a retrain as a new run with a newer lastActionDateTime', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:05:00Z');
    const sim = await start({ now: clock.now });
    sim.addFaceGroup('group-1', {
      createdAt: new Date('2024-05-01T09:00:00Z'),
      trainings: [{ startAt: new Date('2024-05-01T10:00:00Z'), durationMs: MINUTE, outcome: 'succeeded' }],
    });
    const before = (await (await get(sim, facePath('group-1'))).json()) as Record<string, unknown>;

    // Act
    sim.retrainFaceGroup('group-1', {
      startAt: new Date('2024-05-01T10:06:00Z'),
      durationMs: MINUTE,
      outcome: 'failed',
    });
    clock.set('2024-05-01T10:06:30Z');
    const during = (await (await get(sim, facePath('group-1'))).json()) as Record<string, unknown>;
    clock.set('2024-05-01T10:08:00Z');
    const after = (await (await get(sim, facePath('group-1'))).json()) as Record<string, unknown>;

    // Assess
    expect(before).toMatchObject({ status: 'succeeded', lastActionDateTime: '5/1/2024 10:01:00 AM' });
    expect(during).toMatchObject({ status: 'running', lastActionDateTime: '5/1/2024 10:06:00 AM' });
    expect(after).toMatchObject({ status: 'failed', lastActionDateTime: '5/1/2024 10:07:00 AM' });
    expect(() =>
      sim.retrainFaceGroup('group-1', {
        startAt: new Date('2024-05-01T10:06:30Z'),
        durationMs: 1,
        outcome: 'succeeded',
      }),
    ).toThrow();
  });

  it('uses the requested spelling for the queued state and can answer a null lastActionDateTime', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:00:05Z');
    const sim = await start({ now: clock.now });
    sim.addFaceGroup('group-1', {
      createdAt: new Date('2024-05-01T09:00:00Z'),
      notStartedStatus: 'nonstarted',
      nullLastActionDateTime: true,
      trainings: [
        {
          queuedAt: new Date('2024-05-01T10:00:00Z'),
          startAt: new Date('2024-05-01T10:00:10Z'),
          durationMs: MINUTE,
          outcome: 'succeeded',
        },
      ],
    });

    // Act
    const body = (await (await get(sim, facePath('group-1', 'v1.2'))).json()) as Record<string, unknown>;

    // Assess
    expect(body).toMatchObject({ status: 'nonstarted', lastActionDateTime: null });
  });

  it('answers 404 PersonGroupNotFound naming an unknown group, and for an invalid group id', async () => {
    // Prepare
    const sim = await start();

    // Act
    const unknown = await get(sim, facePath('nobody'));
    const invalid = await get(sim, facePath('Upper%20Case'));

    // Assess
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { code: 'PersonGroupNotFound', message: "Person group 'nobody' is not found." },
    });
    expect(invalid.status).toBe(404);
    expect(await invalid.json()).toEqual(FACE_ERRORS.personGroupIdInvalid);
  });

  it('answers 404 for an API version other than v1.0 and v1.2', async () => {
    // Prepare
    const sim = await start();
    sim.addFaceGroup('group-1', { createdAt: new Date(0), trainings: [] });

    // Act
    const v12 = await get(sim, facePath('group-1', 'v1.2'));
    const v3 = await get(sim, facePath('group-1', 'v3.0'));

    // Assess
    expect(v12.status).toBe(404);
    expect(await v12.json()).toEqual(FACE_ERRORS.personGroupNotTrained);
    expect(v3.status).toBe(404);
    expect(await v3.json()).toEqual({ error: { code: '404', message: 'Resource not found' } });
  });

  it('answers 401 with the seed body for a wrong or missing key, and accepts a rotated key', async () => {
    // Prepare
    const sim = await start({ keys: ['key-a'] });
    sim.addFaceGroup('group-1', { createdAt: new Date(0), trainings: [] });

    // Act
    const wrong = await get(sim, facePath('group-1'), 'key-b');
    const missing = await get(sim, facePath('group-1'), undefined);
    sim.setKeys(['key-b']);
    const rotatedNew = await get(sim, facePath('group-1'), 'key-b');
    const rotatedOld = await get(sim, facePath('group-1'), 'key-a');

    // Assess
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual(FACE_ERRORS.unauthorized);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual(FACE_ERRORS.unauthorized);
    expect(rotatedNew.status).toBe(404);
    expect(rotatedOld.status).toBe(401);
  });
});

describe('Language text-authoring training status', () => {
  const job = {
    createdAt: new Date('2022-04-18T15:44:44Z'),
    startAt: new Date('2022-04-18T15:45:00Z'),
    durationMs: 100 * SECOND,
    outcome: 'succeeded' as const,
  };

  it('progresses notStarted, running with a linear percentComplete, then succeeded, in the seed shape', async () => {
    // Prepare
    const clock = testClock('2022-04-18T15:44:50Z');
    const sim = await start({ now: clock.now });
    sim.addLanguageJob('LoanAgreements', 'job-1', job);

    // Act
    const before = await (await get(sim, languagePath('LoanAgreements', 'job-1'))).json();
    clock.set('2022-04-18T15:45:50.500Z');
    const half = await (await get(sim, languagePath('LoanAgreements', 'job-1'))).json();
    clock.set('2022-04-18T15:50:00Z');
    const done = await (await get(sim, languagePath('LoanAgreements', 'job-1', '2023-04-01'))).json();

    // Assess
    const common = {
      jobId: 'job-1',
      createdDateTime: '2022-04-18T15:44:44Z',
      expirationDateTime: '2022-04-25T15:44:44Z',
    };
    const result = {
      modelLabel: 'model1',
      trainingConfigVersion: '2022-05-01',
      estimatedEndDateTime: '2022-04-18T15:46:40.0000000Z',
    };
    expect(before).toEqual({
      result: {
        ...result,
        trainingStatus: { percentComplete: 0, status: 'notStarted' },
        evaluationStatus: { percentComplete: 0, status: 'notStarted' },
      },
      ...common,
      lastUpdatedDateTime: '2022-04-18T15:44:44Z',
      status: 'notStarted',
    });
    expect(half).toEqual({
      result: {
        ...result,
        trainingStatus: {
          percentComplete: 50,
          startDateTime: '2022-04-18T15:45:00.0000000Z',
          status: 'running',
        },
        evaluationStatus: { percentComplete: 0, status: 'notStarted' },
      },
      ...common,
      lastUpdatedDateTime: '2022-04-18T15:45:50Z',
      status: 'running',
    });
    expect(done).toEqual({
      result: {
        ...result,
        trainingStatus: {
          percentComplete: 100,
          startDateTime: '2022-04-18T15:45:00.0000000Z',
          endDateTime: '2022-04-18T15:46:40.0000000Z',
          status: 'succeeded',
        },
        evaluationStatus: {
          percentComplete: 100,
          startDateTime: '2022-04-18T15:46:40.0000000Z',
          endDateTime: '2022-04-18T15:46:40.0000000Z',
          status: 'succeeded',
        },
      },
      ...common,
      lastUpdatedDateTime: '2022-04-18T15:46:40Z',
      status: 'succeeded',
    });
  });

  it('answers failed with the errors of the run once it has ended', async () => {
    // Prepare
    const clock = testClock('2022-04-18T16:00:00Z');
    const sim = await start({ now: clock.now });
    const errors = [{ code: 'InvalidRequest', message: 'No labeled documents.' }];
    sim.addLanguageJob('LoanAgreements', 'job-2', { ...job, outcome: 'failed', errors });

    // Act
    const body = (await (await get(sim, languagePath('LoanAgreements', 'job-2'))).json()) as Record<
      string,
      unknown
    >;

    // Assess
    expect(body.status).toBe('failed');
    expect(body.errors).toEqual(errors);
    expect(body.result).toMatchObject({ trainingStatus: { status: 'failed' } });
  });

  it('answers 404 NotFound with an innererror once the job has expired', async () => {
    // Prepare
    const clock = testClock('2022-04-18T16:00:00Z');
    const sim = await start({ now: clock.now });
    sim.addLanguageJob('LoanAgreements', 'job-1', { ...job, expiresAt: new Date('2022-04-18T17:00:00Z') });
    const beforeExpiry = await get(sim, languagePath('LoanAgreements', 'job-1'));

    // Act
    clock.set('2022-04-18T17:00:00Z');
    const res = await get(sim, languagePath('LoanAgreements', 'job-1'));

    // Assess
    expect(beforeExpiry.status).toBe(200);
    expect(res.status).toBe(404);
    const body = (await res.json()) as {
      error: { code: string; message: string; innererror: { code: string } };
    };
    expect(body.error.code).toBe('NotFound');
    expect(typeof body.error.message).toBe('string');
    expect(typeof body.error.innererror.code).toBe('string');
  });

  it('answers 404 ProjectNotFound for an unknown project and NotFound for an unknown job', async () => {
    // Prepare
    const sim = await start();
    sim.addLanguageJob('LoanAgreements', 'job-1', { ...job, createdAt: new Date(0), startAt: new Date(0) });

    // Act
    const project = await get(sim, languagePath('Other', 'job-1'));
    const unknownJob = await get(sim, languagePath('LoanAgreements', 'job-9'));

    // Assess
    expect(project.status).toBe(404);
    expect(((await project.json()) as { error: { code: string } }).error.code).toBe('ProjectNotFound');
    expect(unknownJob.status).toBe(404);
    expect(((await unknownJob.json()) as { error: { code: string } }).error.code).toBe('NotFound');
  });

  it('answers 400 InvalidRequest without an api-version or with an unsupported one', async () => {
    // Prepare
    const sim = await start();
    sim.addLanguageJob('LoanAgreements', 'job-1', job);

    // Act
    const missing = await get(sim, languagePath('LoanAgreements', 'job-1', null));
    const unsupported = await get(sim, languagePath('LoanAgreements', 'job-1', '2021-11-01-preview'));

    // Assess
    for (const res of [missing, unsupported]) {
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('InvalidRequest');
    }
  });

  it('answers 401 Unauthorized ErrorResponse for a wrong key', async () => {
    // Prepare
    const sim = await start();
    sim.addLanguageJob('LoanAgreements', 'job-1', job);

    // Act
    const res = await get(sim, languagePath('LoanAgreements', 'job-1'), 'not-the-key');

    // Assess
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(LANGUAGE_ERRORS.Unauthorized);
  });
});

describe('Fault injection', () => {
  it('answers an injected status with its headers and raw body, then resumes normal behaviour', async () => {
    // Prepare
    const sim = await start();
    sim.addFaceGroup('sample_group', { createdAt: new Date(0), trainings: [] });
    sim.injectFault({
      response: { status: 409, headers: { 'x-test': 'yes' }, body: FACE_ERRORS.conflict409 },
    });

    // Act
    const faulted = await get(sim, facePath('sample_group'));
    const faultedText = await faulted.text();
    const next = await get(sim, facePath('sample_group'));

    // Assess
    expect(faulted.status).toBe(409);
    expect(faulted.headers.get('x-test')).toBe('yes');
    expect(faultedText).toBe(FACE_ERRORS.conflict409);
    expect(faultedText).toContain('"code": ConcurrentOperationConflict,');
    expect(next.status).toBe(404);
    expect(sim.pendingFaults()).toBe(0);
  });

  it('applies a fault only to matching requests, in order, as many times as asked', async () => {
    // Prepare
    const sim = await start();
    sim.addFaceGroup('group-1', { createdAt: new Date(0), trainings: [] });
    sim.addLanguageJob('P', 'j', {
      createdAt: new Date(0),
      startAt: new Date(0),
      durationMs: 0,
      outcome: 'succeeded',
    });
    sim.injectFault({ match: { kind: 'language.textAuthoring' }, times: 2, response: { status: 503 } });
    sim.injectFault({
      match: { path: /group-1/ },
      times: Infinity,
      response: { status: 500, body: { x: 1 } },
    });
    sim.injectFault({ response: { status: 502 } });

    // Act
    const statuses: number[] = [];
    for (const path of [
      facePath('group-1'),
      languagePath('P', 'j'),
      languagePath('P', 'j'),
      languagePath('P', 'j'),
      facePath('group-1'),
    ]) {
      statuses.push((await get(sim, path)).status);
    }
    sim.clearFaults();
    const cleared = await get(sim, facePath('group-1'));

    // Assess
    expect(statuses).toEqual([500, 503, 503, 502, 500]);
    expect(cleared.status).toBe(404);
  });

  it('hangs a request until the client gives up, and still stops at once', async () => {
    // Prepare
    const sim = await start();
    sim.injectFault({ times: 2, response: { hang: true } });

    // Act
    const error = await get(sim, facePath('group-1'), KEY, { signal: AbortSignal.timeout(200) }).catch(
      (e: unknown) => e,
    );
    const second = get(sim, facePath('group-1')).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await sim.stop();
    const stopMs = performance.now() - started;

    // Assess
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(stopMs).toBeLessThan(1000);
    await second;
    expect(sim.calls[0]?.status).toBe(0);
  });

  it('resets the connection without an HTTP answer', async () => {
    // Prepare
    const sim = await start();
    sim.injectFault({ response: { reset: true } });

    // Act
    const error = await get(sim, facePath('group-1')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TypeError);
    expect(sim.calls[0]?.status).toBe(0);
  });

  it('redirects to another location with the asked status', async () => {
    // Prepare
    const sim = await start();
    sim.injectFault({ response: { redirectTo: 'https://elsewhere.example/steal', status: 307 } });

    // Act
    const res = await get(sim, facePath('group-1'), KEY, { redirect: 'manual' });

    // Assess
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('https://elsewhere.example/steal');
  });

  it('waits latencyMs before each answer', async () => {
    // Prepare
    const sim = await start({ latencyMs: 150 });

    // Act
    const started = performance.now();
    const res = await get(sim, facePath('group-1'));
    const elapsed = performance.now() - started;

    // Assess
    expect(res.status).toBe(404);
    expect(elapsed).toBeGreaterThanOrEqual(140);
  });
});

describe('Rate limit', () => {
  it('answers 429 with the Face body and Retry-After above the budget, counting only accepted calls', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:00:00Z');
    const sim = await start({ now: clock.now, rateLimit: { calls: 2, periodMs: MINUTE } });
    sim.addFaceGroup('group-1', { createdAt: new Date(0), trainings: [] });
    await get(sim, facePath('group-1'));
    clock.advance(20 * SECOND);
    await get(sim, facePath('group-1'));
    clock.advance(10 * SECOND);

    // Act
    const limited = await get(sim, facePath('group-1'));
    const limitedAgain = await get(sim, facePath('group-1'));
    clock.advance(30 * SECOND); // the first call leaves the window
    const admitted = await get(sim, facePath('group-1'));
    const full = await get(sim, facePath('group-1'));

    // Assess
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(await limited.json()).toEqual({
      error: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 30 seconds.' },
    });
    expect(limitedAgain.status).toBe(429);
    expect(admitted.status).toBe(404);
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBe('20');
  });

  it('answers a Language TooManyRequests ErrorResponse, without Retry-After when configured so', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:00:00Z');
    const sim = await start({
      now: clock.now,
      rateLimit: { calls: 1, periodMs: MINUTE, retryAfterHeader: false },
    });
    await get(sim, languagePath('P', 'j'));

    // Act
    const res = await get(sim, languagePath('P', 'j'));

    // Assess
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toEqual({
      error: { code: 'TooManyRequests', message: 'Rate limit is exceeded. Try again in 60 seconds.' },
    });
  });
});

describe('Call records', () => {
  it('records time, method, path, query, kind, key and status of every call', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:00:00Z');
    const sim = await start({ now: clock.now });

    // Act
    await get(sim, facePath('group-1'), 'key-x');
    clock.advance(5 * SECOND);
    await get(sim, languagePath('My%20Project', 'job-1'));
    await get(sim, '/other?x=1');

    // Assess
    expect(sim.calls).toEqual([
      {
        at: new Date('2024-05-01T10:00:00Z'),
        method: 'GET',
        path: '/face/v1.0/persongroups/group-1/training',
        query: {},
        kind: 'face.personGroup',
        key: 'key-x',
        status: 401,
      },
      {
        at: new Date('2024-05-01T10:00:05Z'),
        method: 'GET',
        path: '/language/authoring/analyze-text/projects/My%20Project/train/jobs/job-1',
        query: { 'api-version': '2022-05-01' },
        kind: 'language.textAuthoring',
        key: KEY,
        status: 404,
      },
      {
        at: new Date('2024-05-01T10:00:05Z'),
        method: 'GET',
        path: '/other',
        query: { x: '1' },
        kind: 'other',
        key: undefined,
        status: 404,
      },
    ]);
    expect(sim.maxCallsInWindow(5 * SECOND)).toBe(2);
    expect(sim.maxCallsInWindow(5 * SECOND + 1)).toBe(3);
    sim.resetCalls();
    expect(sim.calls).toHaveLength(0);
  });
});

describe('Demo jobs', () => {
  it('registers the person-group and custom-text demo jobs, known upstream, ending succeeded or failed within five minutes', async () => {
    // Prepare
    const clock = testClock('2024-05-01T10:00:00Z');
    const sim = await start({ now: clock.now });

    // Act
    const registrations = sim
      .addDemoJobs(clock.now())
      .filter((r) => r.kind === 'face.personGroup' || r.kind === 'language.textAuthoring');
    const pathOf = (r: { kind: string; identity: Record<string, string> }): string => {
      const adapter = getAdapter(r.kind)!;
      return adapter.buildUrl('', r.identity, adapter.defaultApiVersion);
    };
    const atStart: string[] = [];
    for (const r of registrations) {
      const path = pathOf(r);
      const body = (await (await get(sim, path)).json()) as { status?: string; error?: { code: string } };
      atStart.push(body.status ?? body.error?.code ?? '?');
    }
    clock.advance(5 * MINUTE);
    const atEnd: string[] = [];
    for (const r of registrations) {
      const path = pathOf(r);
      const res = await get(sim, path);
      atEnd.push(((await res.json()) as { status: string }).status);
    }

    // Assess
    expect(registrations.map((r) => r.kind)).toContain('face.personGroup');
    expect(registrations.map((r) => r.kind)).toContain('language.textAuthoring');
    expect(atStart).toEqual(['notstarted', 'succeeded', 'PersonGroupNotTrained', 'running', 'notStarted']);
    expect(atEnd).toEqual(['succeeded', 'succeeded', 'failed', 'succeeded', 'failed']);
  });
});
