/**
 * OWASP API10 (unsafe consumption of APIs): upstream bodies are untrusted. Oversized bodies are cut where they are
 * read, deeply nested JSON, wrong types, strings where dates belong and HTML pages are InvalidResponse, only the
 * validated known fields are stored (bounded in size), and nothing crashes: no exception, no 500, no poll cycle
 * error.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLL_ERROR_CODES, type PollOutcome } from '../../shared/model';
import { facePersonGroupAdapter as face } from '../../shared/upstream/kinds/facePersonGroup';
import { fetchUpstream } from '../../shared/upstream/http';
import { languageTextAuthoringAdapter as language } from '../../shared/upstream/kinds/languageTextAuthoring';
import type { UpstreamResponse } from '../../shared/upstream/types';
import { startTestStack, type TestStack } from '../support/testStack';
import { readAllEntities } from './support';

const NOW = new Date('2024-05-01T12:00:00.000Z');

/** The fields each adapter may keep from a 200 body (docs/spec.md §3: validated, known fields only). */
const SUB_STATE: Shape = { startDateTime: true, endDateTime: true, status: true, percentComplete: true };
const ISSUE: Shape = { code: true, message: true };
const KNOWN: Record<string, Shape> = {
  [face.kind]: { status: true, createdDateTime: true, lastActionDateTime: true, message: true },
  [language.kind]: {
    jobId: true,
    createdDateTime: true,
    lastUpdatedDateTime: true,
    expirationDateTime: true,
    status: true,
    result: {
      modelLabel: true,
      trainingConfigVersion: true,
      estimatedEndDateTime: true,
      trainingStatus: SUB_STATE,
      evaluationStatus: SUB_STATE,
    },
    errors: ISSUE,
    warnings: ISSUE,
  },
};
interface Shape {
  [field: string]: true | Shape;
}

/** Paths of values in `value` that the shape does not name (arrays are checked item by item). */
function unknownPaths(value: unknown, shape: Shape, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownPaths(item, shape, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const rule = Object.prototype.hasOwnProperty.call(shape, key) ? shape[key] : undefined;
    if (rule === undefined) return [`${path}.${key}`];
    if (rule === true) return typeof child === 'object' && child !== null ? [`${path}.${key}`] : [];
    return unknownPaths(child, rule, `${path}.${key}`);
  });
}

function answer(
  status: number,
  body: string | object,
  extra: Partial<UpstreamResponse> = {},
): UpstreamResponse {
  return {
    status,
    headers: new Headers(),
    bodyText: typeof body === 'string' ? body : JSON.stringify(body),
    ...extra,
  };
}

function codeOf(outcome: PollOutcome): string {
  return outcome.kind === 'status' ? `status:${outcome.reading.status}` : outcome.failure.code;
}

const SEED_LANGUAGE = {
  result: {
    modelLabel: 'model1',
    trainingConfigVersion: '2022-05-01',
    estimatedEndDateTime: '2022-04-18T15:47:58.8190649Z',
    trainingStatus: { percentComplete: 3, startDateTime: '2022-04-18T15:45:06.8190649Z', status: 'running' },
    evaluationStatus: { percentComplete: 0, status: 'notStarted' },
  },
  jobId: 'job-1',
  createdDateTime: '2022-04-18T15:44:44Z',
  lastUpdatedDateTime: '2022-04-18T15:45:48Z',
  expirationDateTime: '2022-04-25T15:44:44Z',
  status: 'running',
};
const SEED_FACE = {
  status: 'running',
  createdDateTime: '1/3/2017 4:11:35 AM',
  lastActionDateTime: '1/3/2017 4:11:35 AM',
  message: null,
};

const deepArray = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('adapters reading hostile 200 bodies', () => {
  it.each([
    ['an HTML error page', '<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>'],
    ['an empty body', ''],
    ['null', 'null'],
    ['an array', '[{"status":"running"}]'],
    ['a bare string', '"running"'],
    ['a number', '42'],
    ['truncated JSON', '{"status":"runn'],
    ['JSON nested 30,000 deep', deepArray(30_000)],
    ['an object nested 20,000 deep', `${'{"status":'.repeat(20_000)}"x"${'}'.repeat(20_000)}`],
  ])('classifies %s as InvalidResponse, for both kinds', (_name, body) => {
    // Act
    const outcomes = [face, language].map((adapter) => adapter.interpret(answer(200, body), NOW));

    // Assess
    expect(outcomes.map(codeOf)).toEqual(['InvalidResponse', 'InvalidResponse']);
  });

  it.each<[string, Record<string, unknown>]>([
    ['status is a number', { status: 1 }],
    ['status is an object', { status: { value: 'running' } }],
    ['status is empty', { status: '' }],
    ['status is 101 characters', { status: 'r'.repeat(101) }],
    ['createdDateTime is a word', { createdDateTime: 'yesterday' }],
    ['createdDateTime is epoch seconds', { createdDateTime: 1_483_416_695 }],
    ['lastActionDateTime is month 13', { lastActionDateTime: '2024-13-01T00:00:00Z' }],
    ['lastActionDateTime is Feb 30', { lastActionDateTime: '2/30/2024 1:00:00 AM' }],
    [
      'lastActionDateTime has 45 fraction digits',
      { lastActionDateTime: `2024-01-01T00:00:00.${'1'.repeat(45)}Z` },
    ],
    ['message is a number', { message: 42 }],
    ['message is nested', { message: JSON.parse(deepArray(500)) as unknown }],
  ])('classifies a Face body where %s as InvalidResponse', (_name, change) => {
    // Act
    const outcome = face.interpret(answer(200, { ...SEED_FACE, ...change }), NOW);

    // Assess
    expect(codeOf(outcome)).toBe('InvalidResponse');
  });

  it.each<[string, (body: typeof SEED_LANGUAGE) => unknown]>([
    ['status is missing', ({ status: _status, ...rest }) => rest],
    ['status is an array', (b) => ({ ...b, status: ['running'] })],
    ['lastUpdatedDateTime is a word', (b) => ({ ...b, lastUpdatedDateTime: 'soon' })],
    ['createdDateTime is a number', (b) => ({ ...b, createdDateTime: 1_650_296_684 })],
    ['expirationDateTime is a word', (b) => ({ ...b, expirationDateTime: 'never' })],
    [
      'estimatedEndDateTime is a word',
      (b) => ({ ...b, result: { ...b.result, estimatedEndDateTime: 'tomorrow' } }),
    ],
    [
      'trainingStatus.startDateTime is not a date',
      (b) => ({
        ...b,
        result: { ...b.result, trainingStatus: { ...b.result.trainingStatus, startDateTime: 'x' } },
      }),
    ],
    [
      'percentComplete is a string',
      (b) => ({
        ...b,
        result: { ...b.result, trainingStatus: { ...b.result.trainingStatus, percentComplete: '3' } },
      }),
    ],
    [
      'percentComplete is 101',
      (b) => ({
        ...b,
        result: { ...b.result, trainingStatus: { ...b.result.trainingStatus, percentComplete: 101 } },
      }),
    ],
    [
      'percentComplete is 2.5',
      (b) => ({
        ...b,
        result: { ...b.result, trainingStatus: { ...b.result.trainingStatus, percentComplete: 2.5 } },
      }),
    ],
    ['result is an array', (b) => ({ ...b, result: [b.result] })],
    ['trainingStatus is a string', (b) => ({ ...b, result: { ...b.result, trainingStatus: 'running' } })],
    ['errors is an object', (b) => ({ ...b, errors: { code: 'x' } })],
    ['errors holds a number', (b) => ({ ...b, errors: [1] })],
    ['an error message is a number', (b) => ({ ...b, errors: [{ code: 'x', message: 5 }] })],
    ['warnings is a string', (b) => ({ ...b, warnings: 'careful' })],
  ])('classifies a Language body where %s as InvalidResponse', (_name, change) => {
    // Act
    const outcome = language.interpret(answer(200, change(structuredClone(SEED_LANGUAGE)) as object), NOW);

    // Assess
    expect(codeOf(outcome)).toBe('InvalidResponse');
  });

  it('never reads a body cut at the size cap as a status, even when the part read is valid JSON', () => {
    // Prepare
    const cut = (body: object): UpstreamResponse =>
      ({ ...answer(200, body), truncated: true }) as UpstreamResponse;

    // Act
    const outcomes = [face.interpret(cut(SEED_FACE), NOW), language.interpret(cut(SEED_LANGUAGE), NOW)];

    // Assess
    expect(outcomes.map(codeOf)).toEqual(['InvalidResponse', 'InvalidResponse']);
  });

  it.each([face, language])(
    '$kind: any JSON value gives one outcome, and keeps only known fields',
    (adapter) => {
      // Prepare
      const seed = adapter === face ? SEED_FACE : SEED_LANGUAGE;
      const bodies = fc.oneof(
        fc.jsonValue({ maxDepth: 6 }),
        fc.dictionary(
          fc.constantFrom(...Object.keys(seed), 'extra', 'secret'),
          fc.jsonValue({ maxDepth: 4 }),
        ),
        fc.record({ status: fc.string({ maxLength: 120, unit: 'binary' }) }).map((r) => ({ ...seed, ...r })),
        fc
          .jsonValue({ maxDepth: 4 })
          .map((v) => ({ ...seed, extra: v, result: { ...SEED_LANGUAGE.result, x: v } })),
      );

      // Act & Assess
      fc.assert(
        fc.property(bodies, (body) => {
          const outcome = adapter.interpret(answer(200, JSON.stringify(body) ?? ''), NOW);
          if (outcome.kind === 'failure') {
            expect(outcome.failure.code).toBe('InvalidResponse');
            return;
          }
          expect(unknownPaths(outcome.reading.upstream, KNOWN[adapter.kind]!)).toEqual([]);
          expect(JSON.stringify(outcome.reading.upstream).length).toBeLessThanOrEqual(16 * 1024);
          expect(outcome.reading.upstreamStatus.length).toBeLessThanOrEqual(100);
        }),
        { numRuns: 500 },
      );
    },
  );

  it.each([face, language])('$kind: any status and any text body is classified, never thrown', (adapter) => {
    // Act & Assess
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.oneof(
          fc.string({ maxLength: 300, unit: 'binary' }),
          fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify({ error: v })),
          fc.constantFrom(
            '<html><head><title>503</title></head><body>Service Unavailable</body></html>',
            `{"error":${'{"innererror":'.repeat(2000)}{}${'}'.repeat(2000)}}`,
            `{"error":{"code":"${'C'.repeat(10_000)}","message":"${'m'.repeat(10_000)}"}}`,
          ),
        ),
        fc.dictionary(
          fc.constantFrom('retry-after', 'retry-after-ms', 'x-ms-retry-after-ms'),
          fc.string({ maxLength: 40 }),
        ),
        (status, bodyText, headers) => {
          const safeHeaders = new Headers();
          for (const [k, v] of Object.entries(headers)) {
            if (/^[\t\x20-\x7e]*$/.test(v)) safeHeaders.set(k, v);
          }
          const outcome = adapter.interpret({ status, headers: safeHeaders, bodyText }, NOW);
          if (outcome.kind === 'failure') {
            expect(POLL_ERROR_CODES).toContain(outcome.failure.code);
            expect(outcome.failure.message.length).toBeLessThanOrEqual(500);
            expect((outcome.failure.upstreamCode ?? '').length).toBeLessThanOrEqual(200);
            if (outcome.failure.retryAfterMs !== undefined) {
              expect(outcome.failure.retryAfterMs).toBeGreaterThanOrEqual(0);
              expect(outcome.failure.retryAfterMs).toBeLessThanOrEqual(31 * 24 * 3600 * 1000);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('fetchUpstream and an endless body', () => {
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.write('{"status":"succeeded"}');
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads 64 KiB, marks it truncated and returns without waiting for the end', async () => {
    // Act
    const response = await fetchUpstream(`${origin}/face`, { headers: {}, timeoutMs: 5000 });
    const outcome = face.interpret(response, NOW);

    // Assess
    expect(response.truncated).toBe(true);
    expect(Buffer.byteLength(response.bodyText)).toBe(64 * 1024);
    expect(codeOf(outcome)).toBe('InvalidResponse');
  });
});

describe('hostile 200 bodies answered to the poller, through the local host', () => {
  let t: TestStack;
  const start = new Date(Date.now() - 10 * 60_000);

  beforeAll(async () => {
    t = await startTestStack({ simulators: { main: {} } });
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  async function storedRow(id: string): Promise<Record<string, unknown>> {
    const entities = await readAllEntities(process.env.AzureWebJobsStorage!);
    return entities.find((e) => e.entity.rowKey === `job|${id}`)!.entity;
  }

  async function faceJob(name: string): Promise<string> {
    t.sims.main!.addFaceGroup(name, {
      createdAt: start,
      trainings: [{ startAt: start, durationMs: 3_600_000, outcome: 'succeeded' }],
    });
    return t.register('main', { kind: 'face.personGroup', personGroupId: name });
  }

  async function languageJob(name: string): Promise<string> {
    t.sims.main!.addLanguageJob('P', name, {
      createdAt: start,
      startAt: start,
      durationMs: 3_600_000,
      outcome: 'succeeded',
    });
    return t.register('main', { kind: 'language.textAuthoring', projectName: 'P', jobId: name });
  }

  it.each<[string, 'face' | 'language', string | object]>([
    ['a valid body padded past the 64 KiB cap', 'face', `${JSON.stringify(SEED_FACE)}${' '.repeat(100_000)}`],
    ['an HTML page', 'face', '<html><body>Service Unavailable</body></html>'],
    ['JSON nested 30,000 deep', 'language', deepArray(30_000)],
    ['a date field holding a word', 'language', { ...SEED_LANGUAGE, lastUpdatedDateTime: 'soon' }],
    [
      'a Language body padded past the cap',
      'language',
      `${JSON.stringify(SEED_LANGUAGE)}${'\n'.repeat(70_000)}`,
    ],
  ])('records InvalidResponse for %s and keeps the last good status', async (_name, kind, body) => {
    // Prepare
    const name = `bad-${Math.random().toString(36).slice(2, 10)}`;
    const id = kind === 'face' ? await faceJob(name) : await languageJob(name);
    await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    t.sims.main!.injectFault({ match: { path: new RegExp(name) }, response: { status: 200, body } });

    // Act
    const refreshed = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });

    // Assess
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({
      status: 'running',
      lastError: { code: 'InvalidResponse', httpStatus: 200 },
    });
  });

  it('stores a Face body with a 40,000-character message cut to the known fields (no 500)', async () => {
    // Prepare
    const id = await faceJob('huge-message');
    t.sims.main!.injectFault({
      match: { path: /huge-message/ },
      response: {
        status: 200,
        body: { ...SEED_FACE, message: `m\u0000\ud800${'m'.repeat(40_000)}`, secret: 's'.repeat(10_000) },
      },
    });

    // Act
    const refreshed = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    const row = await storedRow(id);
    const upstream = JSON.parse(row.upstream as string) as Record<string, unknown>;

    // Assess
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({ status: 'running', lastError: null });
    expect(Object.keys(upstream).sort()).toEqual([
      'createdDateTime',
      'lastActionDateTime',
      'message',
      'status',
    ]);
    expect((upstream.message as string).length).toBeLessThanOrEqual(1000);
    expect(upstream.message as string).toMatch(/^m \ufffdm+$/);
  });

  it('stores a failed Language job with many long errors within the bound (no 500, no cycle error)', async () => {
    // Prepare
    const id = await languageJob('many-errors');
    const issue = (i: number) => ({
      code: `E${i}`,
      message: `"${'\\'.repeat(1100)}"`,
      target: 't',
      details: [{ x: 1 }],
    });
    t.sims.main!.injectFault({
      match: { path: /many-errors/ },
      times: 2,
      response: {
        status: 200,
        body: {
          ...SEED_LANGUAGE,
          status: 'failed',
          errors: Array.from({ length: 12 }, (_, i) => issue(i)),
          warnings: Array.from({ length: 12 }, (_, i) => issue(i)),
          extra: { nested: true },
        },
      },
    });

    // Act
    const refreshed = await t.call(`/api/jobs/${id}/refresh`, { method: 'POST' });
    const row = await storedRow(id);
    const upstream = JSON.parse(row.upstream as string) as Record<string, unknown>;

    // Assess
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({ status: 'failed', lastError: null });
    expect((row.upstream as string).length).toBeLessThanOrEqual(16 * 1024);
    expect(unknownPaths(upstream, KNOWN[language.kind]!)).toEqual([]);
    expect((upstream.errors as unknown[]).length).toBeGreaterThanOrEqual(1);
    expect(t.logs.filter((l) => l.startsWith('error'))).toEqual([]);
  });
});
