import { describe, expect, it } from 'vitest';
import type { PollOutcome, StatusReading, UpstreamFailure } from '../../../shared/model';
import { facePersonGroupAdapter as face } from '../../../shared/upstream/kinds/facePersonGroup';
import type { UpstreamResponse } from '../../../shared/upstream/types';

const NOW = new Date('2024-05-01T12:00:00.000Z');

/** The bodies of seed 000 (Face PersonGroup – Get Training Status), verbatim. */
const SEED = {
  ok200:
    ' { "status":"succeeded", "createdDateTime": "1/3/2017 4:11:35 AM", "lastActionDateTime": null, "message": null } ',
  unauthorized401:
    ' { "error":{ "code": "Unspecified", "message": "Access denied due to invalid subscription key. Make sure you are subscribed to an API you are trying to call and provide the right key." } } ',
  quota403:
    ' { "error":{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 2.12 days." } } ',
  notFound404:
    ' { "error":{ "code":"PersonGroupNotFound", "message":"Person group \'sample_group\' is not found." } } ',
  conflict409:
    ' { "error":{ "code": ConcurrentOperationConflict, "message": "There is a conflict operation on resource \'sample_group\', please try later." } } ',
  rateLimited429:
    ' { "error":{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 26 seconds." } } ',
};

function answer(
  status: number,
  body: string | object,
  headers: Record<string, string> = {},
): UpstreamResponse {
  return {
    status,
    bodyText: typeof body === 'string' ? body : JSON.stringify(body),
    headers: new Headers(headers),
  };
}

function reading(outcome: PollOutcome): StatusReading {
  if (outcome.kind !== 'status') throw new Error(`expected a status, got ${JSON.stringify(outcome.failure)}`);
  return outcome.reading;
}

function failure(outcome: PollOutcome): UpstreamFailure {
  if (outcome.kind !== 'failure')
    throw new Error(`expected a failure, got ${JSON.stringify(outcome.reading)}`);
  return outcome.failure;
}

describe('face.personGroup adapter: description', () => {
  it('describes the kind, versions, key header and free-tier budget', () => {
    expect({
      kind: face.kind,
      apiVersions: face.apiVersions,
      defaultApiVersion: face.defaultApiVersion,
      identityFields: face.identityFields,
      keyHeader: face.keyHeader,
      defaultBudget: face.defaultBudget,
    }).toEqual({
      kind: 'face.personGroup',
      apiVersions: ['v1.0', 'v1.2'],
      defaultApiVersion: 'v1.0',
      identityFields: ['personGroupId'],
      keyHeader: 'Ocp-Apim-Subscription-Key',
      defaultBudget: { calls: 20, periodMs: 60_000 },
    });
  });

  it('builds the training status URL', () => {
    expect(
      face.buildUrl('https://myface.cognitiveservices.azure.com', { personGroupId: 'sample_group' }, 'v1.0'),
    ).toBe('https://myface.cognitiveservices.azure.com/face/v1.0/persongroups/sample_group/training');
  });

  it('builds the URL for v1.2 from an endpoint with a trailing slash', () => {
    expect(face.buildUrl('http://127.0.0.1:7072/', { personGroupId: 'g-1' }, 'v1.2')).toBe(
      'http://127.0.0.1:7072/face/v1.2/persongroups/g-1/training',
    );
  });

  it.each([
    ['succeeded', 'idle'],
    ['failed', 'idle'],
    ['notFound', 'idle'],
    ['notStarted', 'active'],
    ['running', 'active'],
    ['pending', 'active'],
  ] as const)('treats %s as %s (a group is never terminal)', (status, phase) => {
    expect(face.phase(status)).toBe(phase);
  });
});

describe('face.personGroup adapter: identity', () => {
  it.each([['sample_group'], ['a'], ['g-1_2'], ['x'.repeat(64)]])('accepts the personGroupId %j', (id) => {
    expect(face.parseIdentity({ personGroupId: id })).toEqual({
      identity: { personGroupId: id },
      problems: [],
    });
  });

  it.each([
    ['uppercase', 'Sample'],
    ['too long', 'x'.repeat(65)],
    ['a dot', 'a.b'],
    ['a parent segment', '..'],
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['percent-encoding', 'a%2fb'],
    ['a non-ASCII letter', 'grüppe'],
    ['a number', 42],
    ['an object', { id: 'x' }],
  ])('refuses a personGroupId with %s', (_name, value) => {
    const result = face.parseIdentity({ personGroupId: value });

    expect(result.identity).toBeUndefined();
    expect(result.problems.map((p) => p.target)).toEqual(['personGroupId']);
    expect(result.problems[0]?.message).toMatch(/64/);
  });

  it.each([[undefined], [null], ['']])('refuses a missing personGroupId (%j)', (value) => {
    expect(face.parseIdentity({ personGroupId: value }).problems).toEqual([
      { target: 'personGroupId', message: 'personGroupId is required.' },
    ]);
  });
});

describe('face.personGroup adapter: 200 status', () => {
  it('reads the seed 200 body', () => {
    expect(reading(face.interpret(answer(200, SEED.ok200), NOW))).toEqual({
      status: 'succeeded',
      upstreamStatus: 'succeeded',
      upstream: {
        status: 'succeeded',
        createdDateTime: '2017-01-03T04:11:35.000Z',
        lastActionDateTime: null,
      },
    });
  });

  it.each([['notstarted'], ['notStarted'], ['nonstarted']])(
    'maps %s to notStarted and keeps the raw string',
    (raw) => {
      expect(reading(face.interpret(answer(200, { status: raw }), NOW))).toMatchObject({
        status: 'notStarted',
        upstreamStatus: raw,
      });
    },
  );

  it('reads a running group with its last action time', () => {
    // Prepare
    const body = {
      status: 'running',
      createdDateTime: '2024-04-30T10:00:00Z',
      lastActionDateTime: '5/1/2024 11:59:00 AM',
      message: null,
    };

    // Act
    const result = reading(face.interpret(answer(200, body), NOW));

    // Assess
    expect(result).toEqual({
      status: 'running',
      upstreamStatus: 'running',
      upstreamUpdatedAt: '2024-05-01T11:59:00.000Z',
      upstream: {
        status: 'running',
        createdDateTime: '2024-04-30T10:00:00.000Z',
        lastActionDateTime: '2024-05-01T11:59:00.000Z',
      },
    });
  });

  it('keeps the failure message of a failed training', () => {
    const body = {
      status: 'failed',
      createdDateTime: '1/3/2017 4:11:35 AM',
      message: 'There is no person in group.',
    };

    expect(reading(face.interpret(answer(200, body), NOW))).toMatchObject({
      status: 'failed',
      message: 'There is no person in group.',
      upstream: { message: 'There is no person in group.' },
    });
  });

  it('maps an unknown status to running and flags it', () => {
    expect(reading(face.interpret(answer(200, { status: 'queued' }), NOW))).toEqual({
      status: 'running',
      upstreamStatus: 'queued',
      unknownUpstreamStatus: true,
      upstream: { status: 'queued', createdDateTime: null, lastActionDateTime: null },
    });
  });

  it('drops fields that are not documented', () => {
    const body = { status: 'succeeded', createdDateTime: null, secret: 'x', nested: { a: 1 } };

    expect(reading(face.interpret(answer(200, body), NOW)).upstream).toEqual({
      status: 'succeeded',
      createdDateTime: null,
      lastActionDateTime: null,
    });
  });

  it.each([
    ['a missing status', { createdDateTime: null }],
    ['a numeric status', { status: 3 }],
    ['an empty status', { status: '' }],
    ['a status object', { status: { value: 'running' } }],
    ['a numeric date', { status: 'running', createdDateTime: 42 }],
    ['a garbage date', { status: 'running', lastActionDateTime: 'yesterday' }],
    ['a message object', { status: 'failed', message: { text: 'x' } }],
    ['a JSON array', [{ status: 'running' }]],
    ['an HTML page', '<html><body>Service</body></html>'],
    ['a truncated body', '{"status":"runn'],
    ['an empty body', ''],
  ])('refuses a 200 with %s as InvalidResponse', (_name, body) => {
    expect(failure(face.interpret(answer(200, body), NOW))).toMatchObject({
      code: 'InvalidResponse',
      httpStatus: 200,
    });
  });
});

describe('face.personGroup adapter: docs/spec.md §4 outcomes', () => {
  it('classifies the seed 401 as Unauthorized', () => {
    expect(failure(face.interpret(answer(401, SEED.unauthorized401), NOW))).toEqual({
      code: 'Unauthorized',
      httpStatus: 401,
      upstreamCode: 'Unspecified',
      message:
        'Access denied due to invalid subscription key. Make sure you are subscribed to an API you are trying to call and provide the right key.',
    });
  });

  it('classifies the seed quota 403 as QuotaExceeded until the stated time', () => {
    expect(failure(face.interpret(answer(403, SEED.quota403), NOW))).toEqual({
      code: 'QuotaExceeded',
      httpStatus: 403,
      message: 'Out of call volume quota. Quota will be replenished in 2.12 days.',
      retryAfterMs: Math.ceil(2.12 * 86_400_000),
    });
  });

  it('takes the quota wait from Retry-After when the body states none', () => {
    const body = { error: { statusCode: 403, message: 'Out of call volume quota.' } };

    expect(failure(face.interpret(answer(403, body, { 'Retry-After': '3600' }), NOW))).toMatchObject({
      code: 'QuotaExceeded',
      retryAfterMs: 3_600_000,
    });
  });

  it('leaves the quota wait to the caller when nothing states it', () => {
    const result = failure(
      face.interpret(answer(403, { error: { message: 'Out of call volume quota.' } }), NOW),
    );

    expect(result.code).toBe('QuotaExceeded');
    expect(result).not.toHaveProperty('retryAfterMs');
  });

  it('classifies another 403 as Forbidden', () => {
    const body = {
      error: { code: 'UnsupportedFeature', message: 'Feature is not supported in this region.' },
    };

    expect(failure(face.interpret(answer(403, body), NOW))).toMatchObject({
      code: 'Forbidden',
      upstreamCode: 'UnsupportedFeature',
    });
  });

  it('reads 404 PersonGroupNotTrained as notStarted', () => {
    const body = { error: { code: 'PersonGroupNotTrained', message: 'Person group not trained.' } };

    expect(reading(face.interpret(answer(404, body), NOW))).toEqual({
      status: 'notStarted',
      upstreamStatus: 'PersonGroupNotTrained',
      upstream: {},
    });
  });

  it('classifies the seed 404 PersonGroupNotFound as NotFound', () => {
    expect(failure(face.interpret(answer(404, SEED.notFound404), NOW))).toEqual({
      code: 'NotFound',
      httpStatus: 404,
      upstreamCode: 'PersonGroupNotFound',
      message: "Person group 'sample_group' is not found.",
    });
  });

  it('classifies a 404 without a body as NotFound', () => {
    expect(failure(face.interpret(answer(404, ''), NOW)).code).toBe('NotFound');
  });

  it('classifies the seed 409 as Conflict although its body is not valid JSON', () => {
    expect(failure(face.interpret(answer(409, SEED.conflict409), NOW))).toEqual({
      code: 'Conflict',
      httpStatus: 409,
      upstreamCode: 'ConcurrentOperationConflict',
      message: "There is a conflict operation on resource 'sample_group', please try later.",
    });
  });

  it('classifies the seed 429 as RateLimited with the body hint', () => {
    expect(failure(face.interpret(answer(429, SEED.rateLimited429), NOW))).toEqual({
      code: 'RateLimited',
      httpStatus: 429,
      message: 'Rate limit is exceeded. Try again in 26 seconds.',
      retryAfterMs: 26_000,
    });
  });

  it('prefers the Retry-After header over the 429 body hint', () => {
    expect(
      failure(face.interpret(answer(429, SEED.rateLimited429, { 'retry-after': '5' }), NOW)),
    ).toMatchObject({
      retryAfterMs: 5000,
    });
  });

  it.each([[500], [502], [503]])('classifies %i as UpstreamUnavailable', (status) => {
    expect(failure(face.interpret(answer(status, '<html>Bad gateway</html>'), NOW))).toMatchObject({
      code: 'UpstreamUnavailable',
      httpStatus: status,
    });
  });

  it('classifies a redirect as InvalidResponse', () => {
    const result = failure(face.interpret(answer(302, '', { location: 'https://evil.example/' }), NOW));

    expect(result).toMatchObject({ code: 'InvalidResponse', httpStatus: 302 });
    expect(result.message).toMatch(/redirect not followed/);
  });
});
