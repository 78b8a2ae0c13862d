import { describe, expect, it } from 'vitest';
import type { PollOutcome, StatusReading, UpstreamFailure } from '../../../shared/model';
import { languageTextAuthoringAdapter as language } from '../../../shared/upstream/kinds/languageTextAuthoring';
import { getAdapter, listKinds } from '../../../shared/upstream/registry';
import type { UpstreamResponse } from '../../../shared/upstream/types';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const JOB_ID = '8ccf2ffe-e758-4d04-a44a-31512918c7e8_637858368000000000';

/** The sample response of seed 003 (Text Analysis Authoring – Get Training Status), verbatim. */
const SEED_200 = `{
 "result": {
  "modelLabel": "model1",
  "trainingConfigVersion": "2022-05-01",
  "estimatedEndDateTime": "2022-04-18T15:47:58.8190649Z",
  "trainingStatus": {
   "percentComplete": 3,
   "startDateTime": "2022-04-18T15:45:06.8190649Z",
   "status": "running"
  },
  "evaluationStatus": {
   "percentComplete": 0,
   "status": "notStarted"
  }
 },
 "jobId": "8ccf2ffe-e758-4d04-a44a-31512918c7e8_637858368000000000",
 "createdDateTime": "2022-04-18T15:44:44Z",
 "lastUpdatedDateTime": "2022-04-18T15:45:48Z",
 "expirationDateTime": "2022-04-25T15:44:44Z",
 "status": "running"
}`;

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

function seedWith(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...(JSON.parse(SEED_200) as Record<string, unknown>), ...changes };
}

function errorResponse(code: string, message: string, innerCode?: string): object {
  return { error: { code, message, ...(innerCode ? { innererror: { code: innerCode, message } } : {}) } };
}

describe('language.textAuthoring adapter: description', () => {
  it('describes the kind, versions, key header and free-tier budget', () => {
    expect({
      kind: language.kind,
      apiVersions: language.apiVersions,
      defaultApiVersion: language.defaultApiVersion,
      identityFields: language.identityFields,
      keyHeader: language.keyHeader,
      defaultBudget: language.defaultBudget,
    }).toEqual({
      kind: 'language.textAuthoring',
      apiVersions: ['2022-05-01', '2023-04-01'],
      defaultApiVersion: '2022-05-01',
      identityFields: ['projectName', 'jobId'],
      keyHeader: 'Ocp-Apim-Subscription-Key',
      defaultBudget: { calls: 100, periodMs: 60_000 },
    });
  });

  it('builds the seed request URL', () => {
    expect(
      language.buildUrl(
        'https://mylang.cognitiveservices.azure.com',
        { projectName: 'LoanAgreements', jobId: JOB_ID },
        '2022-05-01',
      ),
    ).toBe(
      `https://mylang.cognitiveservices.azure.com/language/authoring/analyze-text/projects/LoanAgreements/train/jobs/${JOB_ID}?api-version=2022-05-01`,
    );
  });

  it('percent-encodes identity values into the path', () => {
    expect(
      language.buildUrl(
        'http://127.0.0.1:7072/',
        { projectName: 'Loan Agreements ü', jobId: 'a&b=c+d' },
        '2023-04-01',
      ),
    ).toBe(
      'http://127.0.0.1:7072/language/authoring/analyze-text/projects/Loan%20Agreements%20%C3%BC/train/jobs/a%26b%3Dc%2Bd?api-version=2023-04-01',
    );
  });

  it.each([
    ['succeeded', 'terminal'],
    ['partiallyCompleted', 'terminal'],
    ['failed', 'terminal'],
    ['cancelled', 'terminal'],
    ['notFound', 'idle'],
    ['notStarted', 'active'],
    ['running', 'active'],
    ['cancelling', 'active'],
    ['pending', 'active'],
  ] as const)('treats %s as %s', (status, phase) => {
    expect(language.phase(status)).toBe(phase);
  });
});

describe('language.textAuthoring adapter: identity', () => {
  it('accepts the seed identity', () => {
    expect(language.parseIdentity({ projectName: 'LoanAgreements', jobId: JOB_ID })).toEqual({
      identity: { projectName: 'LoanAgreements', jobId: JOB_ID },
      problems: [],
    });
  });

  it('accepts the longest values allowed', () => {
    const body = { projectName: 'p'.repeat(100), jobId: 'j'.repeat(200) };

    expect(language.parseIdentity(body).identity).toEqual(body);
  });

  it.each([
    ['projectName', 'p'.repeat(101), /at most 100/],
    ['jobId', 'j'.repeat(201), /at most 200/],
    ['projectName', 'a/b', /'\/'/],
    ['jobId', 'a?b', /'\?'/],
    ['jobId', 'a#b', /'#'/],
    ['projectName', 'a%2Fb', /'%'/],
    ['projectName', 'a\u0000b', /control/],
    ['jobId', 'a\nb', /control/],
    ['jobId', 'a\u007fb', /control/],
    ['projectName', '..', /'\.\.'/],
    ['jobId', '.', /'\.'/],
    ['jobId', 'a\ud800b', /Unicode/],
    ['projectName', 42, /string/],
    ['jobId', '', /required/],
    ['jobId', undefined, /required/],
  ])('refuses %s %j with a problem on that field', (field, value, message) => {
    // Prepare
    const body: Record<string, unknown> = { projectName: 'LoanAgreements', jobId: JOB_ID, [field]: value };

    // Act
    const result = language.parseIdentity(body);

    // Assess
    expect(result.identity).toBeUndefined();
    expect(result.problems.map((p) => p.target)).toEqual([field]);
    expect(result.problems[0]?.message).toMatch(message);
  });

  it('reports every invalid field at once', () => {
    expect(language.parseIdentity({}).problems.map((p) => p.target)).toEqual(['projectName', 'jobId']);
  });
});

describe('language.textAuthoring adapter: 200 status', () => {
  it('reads the seed 200 body', () => {
    expect(reading(language.interpret(answer(200, SEED_200), NOW))).toEqual({
      status: 'running',
      upstreamStatus: 'running',
      percentComplete: 3,
      estimatedEndDateTime: '2022-04-18T15:47:58.819Z',
      upstreamUpdatedAt: '2022-04-18T15:45:48.000Z',
      upstream: JSON.parse(SEED_200) as unknown,
    });
  });

  it.each([
    ['notStarted', 'notStarted'],
    ['running', 'running'],
    ['succeeded', 'succeeded'],
    ['failed', 'failed'],
    ['cancelled', 'cancelled'],
    ['cancelling', 'cancelling'],
    ['partiallyCompleted', 'partiallyCompleted'],
  ] as const)('maps %s one to one', (raw, status) => {
    expect(reading(language.interpret(answer(200, seedWith({ status: raw })), NOW))).toMatchObject({
      status,
      upstreamStatus: raw,
    });
  });

  it('maps an unknown status to running and flags it', () => {
    const result = reading(language.interpret(answer(200, seedWith({ status: 'validating' })), NOW));

    expect(result).toMatchObject({
      status: 'running',
      upstreamStatus: 'validating',
      unknownUpstreamStatus: true,
    });
  });

  it('takes the message of a failed job from its first error', () => {
    // Prepare
    const body = seedWith({
      status: 'failed',
      errors: [
        {
          code: 'InvalidRequest',
          message: 'The training data is empty.',
          target: 'x',
          innererror: { code: 'Y' },
        },
        { code: 'Other', message: 'Second.' },
      ],
    });

    // Act
    const result = reading(language.interpret(answer(200, body), NOW));

    // Assess
    expect(result.message).toBe('The training data is empty.');
    expect(result.upstream.errors).toEqual([
      { code: 'InvalidRequest', message: 'The training data is empty.' },
      { code: 'Other', message: 'Second.' },
    ]);
  });

  it('keeps warnings and sets no message for a job that did not fail', () => {
    const body = seedWith({ status: 'succeeded', warnings: [{ code: 'Warning', message: 'Few examples.' }] });
    const result = reading(language.interpret(answer(200, body), NOW));

    expect(result.upstream.warnings).toEqual([{ code: 'Warning', message: 'Few examples.' }]);
    expect(result.message).toBeUndefined();
  });

  it('drops fields that are not documented, at every level', () => {
    // Prepare
    const body = {
      status: 'running',
      extra: 'x',
      result: {
        modelLabel: 'm',
        other: 1,
        trainingStatus: { percentComplete: 10, status: 'running', more: true },
      },
    };

    // Act
    const result = reading(language.interpret(answer(200, body), NOW));

    // Assess
    expect(result.upstream).toEqual({
      status: 'running',
      result: { modelLabel: 'm', trainingStatus: { percentComplete: 10, status: 'running' } },
    });
    expect(result.percentComplete).toBe(10);
  });

  it('reads a minimal body with only a status', () => {
    expect(reading(language.interpret(answer(200, { status: 'notStarted' }), NOW))).toEqual({
      status: 'notStarted',
      upstreamStatus: 'notStarted',
      upstream: { status: 'notStarted' },
    });
  });

  it.each([
    ['a missing status', { jobId: 'x' }],
    ['a numeric status', { status: 1 }],
    ['a numeric jobId', { status: 'running', jobId: 5 }],
    ['a numeric lastUpdatedDateTime', { status: 'running', lastUpdatedDateTime: 5 }],
    ['a string result', { status: 'running', result: 'done' }],
    ['percentComplete over 100', { status: 'running', result: { trainingStatus: { percentComplete: 101 } } }],
    [
      'a negative percentComplete',
      { status: 'running', result: { evaluationStatus: { percentComplete: -1 } } },
    ],
    [
      'a fractional percentComplete',
      { status: 'running', result: { trainingStatus: { percentComplete: 3.5 } } },
    ],
    ['a string percentComplete', { status: 'running', result: { trainingStatus: { percentComplete: '3' } } }],
    ['a numeric sub-status', { status: 'running', result: { trainingStatus: { status: 2 } } }],
    ['errors that are not an array', { status: 'failed', errors: { code: 'x' } }],
    ['an error that is a string', { status: 'failed', errors: ['boom'] }],
    ['a warning with a numeric message', { status: 'running', warnings: [{ code: 'W', message: 1 }] }],
    ['a JSON array', [{ status: 'running' }]],
    ['an HTML page', '<!DOCTYPE html><html></html>'],
    ['a truncated body', SEED_200.slice(0, 100)],
  ])('refuses a 200 with %s as InvalidResponse', (_name, body) => {
    expect(failure(language.interpret(answer(200, body), NOW))).toMatchObject({
      code: 'InvalidResponse',
      httpStatus: 200,
    });
  });
});

describe('language.textAuthoring adapter: docs/spec.md §4 outcomes', () => {
  it('classifies 401 as Unauthorized', () => {
    const body = { error: { code: '401', message: 'Access denied due to invalid subscription key.' } };

    expect(failure(language.interpret(answer(401, body), NOW))).toEqual({
      code: 'Unauthorized',
      httpStatus: 401,
      upstreamCode: '401',
      message: 'Access denied due to invalid subscription key.',
    });
  });

  it('classifies 403 QuotaExceeded as QuotaExceeded with the header wait', () => {
    const body = errorResponse('QuotaExceeded', 'Quota exceeded for this resource.');

    expect(failure(language.interpret(answer(403, body, { 'retry-after': '120' }), NOW))).toEqual({
      code: 'QuotaExceeded',
      httpStatus: 403,
      upstreamCode: 'QuotaExceeded',
      message: 'Quota exceeded for this resource.',
      retryAfterMs: 120_000,
    });
  });

  it('classifies 403 Forbidden as Forbidden', () => {
    expect(
      failure(language.interpret(answer(403, errorResponse('Forbidden', 'No access.')), NOW)),
    ).toMatchObject({
      code: 'Forbidden',
      upstreamCode: 'Forbidden',
    });
  });

  it.each([['ProjectNotFound'], ['OperationNotFound'], ['NotFound']])(
    'classifies 404 %s as NotFound',
    (code) => {
      expect(failure(language.interpret(answer(404, errorResponse(code, 'Gone.')), NOW))).toMatchObject({
        code: 'NotFound',
        httpStatus: 404,
        upstreamCode: code,
      });
    },
  );

  it('classifies 409 as Conflict', () => {
    expect(failure(language.interpret(answer(409, errorResponse('Conflict', 'Busy.')), NOW)).code).toBe(
      'Conflict',
    );
  });

  it('classifies 429 as RateLimited with the x-ms-retry-after-ms wait', () => {
    const response = answer(429, errorResponse('TooManyRequests', 'Slow down.'), {
      'x-ms-retry-after-ms': '1500',
    });

    expect(failure(language.interpret(response, NOW))).toMatchObject({
      code: 'RateLimited',
      retryAfterMs: 1500,
    });
  });

  it('classifies 500 as UpstreamUnavailable and keeps the innererror code in the message', () => {
    const body = errorResponse('InternalServerError', 'Something broke.', 'ExtractionFailure');

    expect(failure(language.interpret(answer(500, body), NOW))).toEqual({
      code: 'UpstreamUnavailable',
      httpStatus: 500,
      upstreamCode: 'InternalServerError',
      message: 'Something broke. (ExtractionFailure)',
    });
  });

  it('classifies a 307 redirect as InvalidResponse', () => {
    expect(failure(language.interpret(answer(307, ''), NOW))).toMatchObject({
      code: 'InvalidResponse',
      httpStatus: 307,
    });
  });

  it('classifies 400 as InvalidResponse', () => {
    const body = errorResponse('InvalidRequest', 'Bad api-version.', 'InvalidParameterValue');

    expect(failure(language.interpret(answer(400, body), NOW)).code).toBe('InvalidResponse');
  });
});

describe('registry', () => {
  it('lists the kind among the registered ones, once', () => {
    expect(listKinds()).toEqual(expect.arrayContaining(['face.personGroup', 'language.textAuthoring']));
    expect(new Set(listKinds()).size).toBe(listKinds().length);
  });

  it('finds an adapter by kind', () => {
    expect(getAdapter('language.textAuthoring')).toBe(language);
    expect(getAdapter('face.personGroup')?.kind).toBe('face.personGroup');
  });

  it('gives undefined for an unknown kind', () => {
    expect(getAdapter('face.largePersonGroup')).toBeUndefined();
    expect(getAdapter('__proto__')).toBeUndefined();
  });
});
