/**
 * The simulated APIs of `openai.fineTuning`, `speech.customModel` and `customVision.iteration` over real HTTP: each
 * answers with its own key header, its documented body through a run's life (read by the kind's adapter exactly as
 * the poller reads it) and its own error shapes. The simulator's clock is virtual.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PollOutcome, StatusReading } from '../../shared/model';
import { getAdapter } from '../../shared/upstream/registry';
import type { JobAdapter, UpstreamResponse } from '../../shared/upstream/types';
import { startUpstreamSimulator, type UpstreamSimulator } from '../../dev/upstreamSimulator';
import { fixtureBody } from '../support/fixtures';

const T0 = new Date('2026-05-01T12:00:00.000Z');
const SECOND = 1000;

let sim: UpstreamSimulator;
let nowMs = T0.getTime();

beforeAll(async () => {
  sim = await startUpstreamSimulator({ now: () => new Date(nowMs), keys: ['sim-key'] });
});

afterAll(async () => {
  await sim.stop();
});

function adapter(kind: string): JobAdapter {
  const found = getAdapter(kind);
  if (!found) throw new Error(`no adapter ${kind}`);
  return found;
}

async function call(
  kind: string,
  identity: Record<string, string>,
  options: { key?: string | null; apiVersion?: string; at?: number } = {},
): Promise<UpstreamResponse> {
  const a = adapter(kind);
  if (options.at !== undefined) nowMs = options.at;
  const headers: Record<string, string> = {};
  if (options.key !== null) headers[a.keyHeader] = options.key ?? 'sim-key';
  const url = a.buildUrl(sim.origin, identity, options.apiVersion ?? a.defaultApiVersion);
  const response = await fetch(url, { headers, redirect: 'manual' });
  return { status: response.status, headers: response.headers, bodyText: await response.text() };
}

async function read(
  kind: string,
  identity: Record<string, string>,
  at: number,
  apiVersion?: string,
): Promise<StatusReading> {
  const outcome: PollOutcome = adapter(kind).interpret(
    await call(kind, identity, { at, ...(apiVersion ? { apiVersion } : {}) }),
    new Date(at),
  );
  if (outcome.kind !== 'status') throw new Error(`expected a status, got ${JSON.stringify(outcome.failure)}`);
  return outcome.reading;
}

function run(startOffset: number, durationMs: number, outcome: 'succeeded' | 'failed' | 'cancelled') {
  return {
    createdAt: T0,
    startAt: new Date(T0.getTime() + startOffset),
    durationMs,
    outcome,
  };
}

describe.each(['openai.fineTuning', 'speech.customModel', 'customVision.iteration'])(
  'the simulated %s API',
  (kind) => {
    it('is spoken by the simulator', () => {
      expect(sim.kinds).toContain(kind);
    });

    it.each([['succeeded'], ['failed']] as const)(
      'moves a job through its statuses to %s',
      async (outcome) => {
        // Prepare
        const identity = sim.sampleIdentity(kind, `life-${outcome}`);
        sim.addJob(kind, identity, run(10 * SECOND, 60 * SECOND, outcome));

        // Act
        const statuses = [];
        for (const at of [0, 20 * SECOND, 80 * SECOND])
          statuses.push((await read(kind, identity, T0.getTime() + at)).status);

        // Assess
        expect(statuses).toEqual(['notStarted', 'running', outcome]);
        expect(adapter(kind).phase(outcome)).toBe('terminal');
      },
    );

    it('answers only with the kind key header: 401 in the gateway shape otherwise', async () => {
      // Prepare
      const identity = sim.sampleIdentity(kind, 'keyed');
      sim.addJob(kind, identity, run(0, 60 * SECOND, 'succeeded'));

      // Act
      const wrong = await call(kind, identity, { key: 'not-the-key' });
      const missing = await call(kind, identity, { key: null });
      const outcome = adapter(kind).interpret(wrong, T0);

      // Assess
      expect([wrong.status, missing.status]).toEqual([401, 401]);
      expect(JSON.parse(wrong.bodyText)).toEqual({
        error: { code: '401', message: expect.stringContaining('Access denied') as unknown },
      });
      expect(outcome).toMatchObject({ kind: 'failure', failure: { code: 'Unauthorized' } });
    });

    it('answers an unknown job with a 404 the adapter reads as NotFound', async () => {
      // Act
      const response = await call(kind, sim.sampleIdentity(kind, 'never-added'), { at: T0.getTime() });
      const outcome = adapter(kind).interpret(response, T0);

      // Assess
      expect(response.status).toBe(404);
      expect(outcome).toMatchObject({ kind: 'failure', failure: { code: 'NotFound', httpStatus: 404 } });
    });

    it('sends its error answers in shapes the adapter classifies as docs/spec.md §4 says', () => {
      // Prepare
      const errors = sim.errorsOf(kind);
      const asResponse = (e: {
        status: number;
        body: string | object;
        headers?: Record<string, string>;
      }) => ({
        status: e.status,
        headers: new Headers(e.headers ?? {}),
        bodyText: typeof e.body === 'string' ? e.body : JSON.stringify(e.body),
      });
      const classify = (e: Parameters<typeof asResponse>[0]) => {
        const outcome = adapter(kind).interpret(asResponse(e), T0);
        return outcome.kind === 'failure' ? outcome.failure : undefined;
      };

      // Act & Assess
      expect(classify(errors.unauthorized)?.code).toBe('Unauthorized');
      expect(classify(errors.quotaExceeded)?.code).toBe('QuotaExceeded');
      expect(classify(errors.forbidden)?.code).toBe('Forbidden');
      expect(classify(errors.notFound)?.code).toBe('NotFound');
      expect(classify(errors.conflict)?.code).toBe('Conflict');
      expect(classify(errors.rateLimited)).toMatchObject({
        code: 'RateLimited',
        retryAfterMs: errors.rateLimitedHintMs,
      });
      expect(classify(errors.serverError)?.code).toBe('UpstreamUnavailable');
    });
  },
);

describe('the simulated openai.fineTuning API', () => {
  it('sends unix-second times and an estimated_finish while running, as the documented body', async () => {
    // Prepare
    sim.addJob(
      'openai.fineTuning',
      { fineTuningJobId: 'ftjob-times' },
      run(10 * SECOND, 60 * SECOND, 'succeeded'),
    );

    // Act
    const running = await read(
      'openai.fineTuning',
      { fineTuningJobId: 'ftjob-times' },
      T0.getTime() + 20 * SECOND,
    );
    const done = await read(
      'openai.fineTuning',
      { fineTuningJobId: 'ftjob-times' },
      T0.getTime() + 90 * SECOND,
    );

    // Assess
    expect(running.upstream).toMatchObject({ created_at: T0.getTime() / 1000, finished_at: null });
    expect(running.estimatedEndDateTime).toBe(new Date(T0.getTime() + 70 * SECOND).toISOString());
    expect(done.upstream).toMatchObject({ finished_at: T0.getTime() / 1000 + 70, trained_tokens: 2342 });
    expect(
      Object.keys(done.upstream).every((k) => k in fixtureBody('openai.fineTuning', 'openai-succeeded')),
    ).toBe(true);
  });

  it('answers 404 for an api version it does not serve', async () => {
    expect(
      (await call('openai.fineTuning', { fineTuningJobId: 'ftjob-times' }, { apiVersion: '2023-05-15' }))
        .status,
    ).toBe(404);
  });
});

describe('the simulated speech.customModel API', () => {
  it('sends Retry-After with every 200 until the model is done, on both api versions', async () => {
    // Prepare
    const identity = sim.sampleIdentity('speech.customModel', 'retry-after');
    sim.addJob('speech.customModel', identity, run(10 * SECOND, 60 * SECOND, 'succeeded'));

    // Act
    const waiting = await read('speech.customModel', identity, T0.getTime());
    const running = await read('speech.customModel', identity, T0.getTime() + 20 * SECOND, 'v3.2');
    const done = await read('speech.customModel', identity, T0.getTime() + 80 * SECOND);

    // Assess
    expect([waiting.upstreamStatus, running.upstreamStatus, done.upstreamStatus]).toEqual([
      'NotStarted',
      'Running',
      'Succeeded',
    ]);
    expect([waiting.retryAfterMs, running.retryAfterMs, done.retryAfterMs]).toEqual([
      10_000,
      10_000,
      undefined,
    ]);
    expect(done.upstreamUpdatedAt).toBe(new Date(T0.getTime() + 70 * SECOND).toISOString());
  });
});

describe('the simulated customVision.iteration API', () => {
  it('answers NotFoundProject for an unknown project and NotFoundIteration for an unknown iteration', async () => {
    // Prepare
    const known = sim.sampleIdentity('customVision.iteration', 'known');
    sim.addJob('customVision.iteration', known, run(0, 60 * SECOND, 'succeeded'));

    // Act
    const noIteration = await call(
      'customVision.iteration',
      { projectId: known.projectId ?? '', iterationId: '00000000-0000-4000-8000-000000000000' },
      { at: T0.getTime() },
    );
    const noProject = await call('customVision.iteration', {
      projectId: '00000000-0000-4000-8000-000000000000',
      iterationId: known.iterationId ?? '',
    });

    // Assess
    expect(JSON.parse(noIteration.bodyText)).toMatchObject({ code: 'NotFoundIteration' });
    expect(JSON.parse(noProject.bodyText)).toMatchObject({ code: 'NotFoundProject' });
  });

  it('orders its answers by lastModified and keeps trainedAt once Completed', async () => {
    // Prepare
    const identity = sim.sampleIdentity('customVision.iteration', 'ordered');
    sim.addJob('customVision.iteration', identity, run(10 * SECOND, 60 * SECOND, 'succeeded'));

    // Act
    const readings = [];
    for (const at of [0, 20 * SECOND, 40 * SECOND, 75 * SECOND]) {
      readings.push(await read('customVision.iteration', identity, T0.getTime() + at));
    }

    // Assess
    const times = readings.map((r) => r.upstreamUpdatedAt ?? '');
    expect(times).toEqual([...times].sort());
    expect(new Set(times).size).toBe(4);
    expect(readings.map((r) => r.upstreamStatus)).toEqual(['New', 'Training', 'Training', 'Completed']);
    expect(readings[3]?.upstream.trainedAt).toBe(new Date(T0.getTime() + 70 * SECOND).toISOString());
  });
});
