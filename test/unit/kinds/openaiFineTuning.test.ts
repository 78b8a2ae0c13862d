import { describe, expect, it } from 'vitest';
import { checkUpstreamOrigin } from '../../../shared/upstream/allowList';
import { openAiFineTuningAdapter as openai } from '../../../shared/upstream/kinds/openaiFineTuning';
import { getAdapter } from '../../../shared/upstream/registry';
import {
  answerOf as answer,
  failureOf as failure,
  fixtureBody,
  fixtureResponse,
  readingOf as reading,
} from '../../support/fixtures';

const KIND = 'openai.fineTuning';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const JOB = 'ft-72a2792ef7d24ba7b82c7fe4a37e379f';

describe('openai.fineTuning adapter: description', () => {
  it('is registered with its api version, api-key header, budget and no ordering field', () => {
    // Act
    const adapter = getAdapter(KIND);

    // Assess
    expect(adapter).toBe(openai);
    expect({
      apiVersions: openai.apiVersions,
      defaultApiVersion: openai.defaultApiVersion,
      identityFields: openai.identityFields,
      keyHeader: openai.keyHeader,
      defaultBudget: openai.defaultBudget,
      orderingField: openai.orderingField,
    }).toEqual({
      apiVersions: ['2024-10-21'],
      defaultApiVersion: '2024-10-21',
      identityFields: ['fineTuningJobId'],
      keyHeader: 'api-key',
      defaultBudget: { calls: 60, periodMs: 60_000 },
      orderingField: undefined,
    });
  });

  it('builds the fine-tuning job URL with the api version in the query', () => {
    expect(
      openai.buildUrl('https://aoairesource.openai.azure.com', { fineTuningJobId: JOB }, '2024-10-21'),
    ).toBe(`https://aoairesource.openai.azure.com/openai/fine_tuning/jobs/${JOB}?api-version=2024-10-21`);
  });

  it.each([
    ['succeeded', 'terminal'],
    ['failed', 'terminal'],
    ['cancelled', 'terminal'],
    ['running', 'active'],
    ['notStarted', 'active'],
    ['notFound', 'idle'],
  ] as const)('treats %s as %s', (status, phase) => {
    expect(openai.phase(status)).toBe(phase);
  });

  it.each([
    ['https://aoairesource.openai.azure.com', true],
    ['https://gov-res.openai.azure.us', true],
    ['https://cn-res.openai.azure.cn', true],
    ['https://myres.cognitiveservices.azure.com', true],
    ['https://a.b.openai.azure.com', false],
    ['https://openai.azure.com', false],
    ['https://aoairesource.openai.azure.com.evil.example', false],
    ['https://westus.stt.speech.microsoft.com', false],
  ])('allows %s: %s', (endpoint, allowed) => {
    expect(checkUpstreamOrigin(endpoint, [], openai.allowedHosts).ok).toBe(allowed);
  });
});

describe('openai.fineTuning adapter: identity', () => {
  it('accepts a job id and refuses a path-breaking one', () => {
    expect(openai.parseIdentity({ fineTuningJobId: JOB })).toEqual({
      identity: { fineTuningJobId: JOB },
      problems: [],
    });
    expect(openai.parseIdentity({ fineTuningJobId: 'ft-1/../x' }).problems.map((p) => p.target)).toEqual([
      'fineTuningJobId',
    ]);
    expect(openai.parseIdentity({}).problems).toEqual([
      { target: 'fineTuningJobId', message: 'fineTuningJobId is required.' },
    ]);
  });
});

describe('openai.fineTuning adapter: documented bodies', () => {
  it('reads the Azure 2024-10-21 example: succeeded, unix-second times kept as sent', () => {
    // Act
    const r = reading(openai.interpret(fixtureResponse(KIND, '2024-10-21-succeeded'), NOW));

    // Assess
    expect(r.status).toBe('succeeded');
    expect(r.upstreamStatus).toBe('succeeded');
    expect(r.upstream).toMatchObject({
      id: JOB,
      status: 'succeeded',
      created_at: 1646126127,
      finished_at: 1646127311,
      fine_tuned_model: 'curie.ft-72a2792ef7d24ba7b82c7fe4a37e379f',
      trained_tokens: 2342,
    });
    expect(r.upstream).not.toHaveProperty('hyperparameters');
    expect(r.upstreamUpdatedAt).toBeUndefined();
    expect(r.estimatedEndDateTime).toBeUndefined();
  });

  it.each([
    ['2024-10-21-pending', 'notStarted', 'pending'],
    ['openai-validating-files', 'notStarted', 'validating_files'],
    ['openai-queued', 'notStarted', 'queued'],
    ['openai-paused', 'running', 'paused'],
    ['running-estimated-finish', 'running', 'running'],
    ['2024-10-21-cancelled', 'cancelled', 'cancelled'],
    ['openai-succeeded', 'succeeded', 'succeeded'],
    ['failed', 'failed', 'failed'],
  ] as const)('maps the fixture %s to %s (raw %s)', (name, status, raw) => {
    // Act
    const r = reading(openai.interpret(fixtureResponse(KIND, name), NOW));

    // Assess
    expect(r.status).toBe(status);
    expect(r.upstreamStatus).toBe(raw);
    expect(r.unknownUpstreamStatus).toBeUndefined();
  });

  it('derives estimatedEndDateTime (ISO UTC) from estimated_finish and keeps the unix value in upstream', () => {
    // Act
    const r = reading(openai.interpret(fixtureResponse(KIND, 'running-estimated-finish'), NOW));

    // Assess
    expect(r.estimatedEndDateTime).toBe(new Date(1646127400 * 1000).toISOString());
    expect(r.upstream.estimated_finish).toBe(1646127400);
  });

  it('does not read openai.com estimated_finish 0 or null as an estimate', () => {
    expect(
      reading(openai.interpret(fixtureResponse(KIND, 'openai-succeeded'), NOW)).estimatedEndDateTime,
    ).toBeUndefined();
    expect(
      reading(openai.interpret(fixtureResponse(KIND, 'openai-validating-files'), NOW)).estimatedEndDateTime,
    ).toBeUndefined();
  });

  it('takes the message of a failed job from its error', () => {
    // Act
    const r = reading(openai.interpret(fixtureResponse(KIND, 'failed'), NOW));

    // Assess
    expect(r.message).toBe('The training file is not valid JSONL.');
    expect(r.upstream.error).toEqual({
      code: 'invalid_training_file',
      message: 'The training file is not valid JSONL.',
      param: 'training_file',
    });
  });

  it('maps an unknown status to running with a warning flag', () => {
    // Prepare
    const body = { ...fixtureBody(KIND, '2024-10-21-pending'), status: 'deploying' };

    // Act
    const r = reading(openai.interpret(answer(200, body), NOW));

    // Assess
    expect(r).toMatchObject({ status: 'running', upstreamStatus: 'deploying', unknownUpstreamStatus: true });
  });

  it.each([
    ['created_at as an ISO string', { created_at: '2024-05-01T00:00:00Z' }],
    ['created_at as a fraction', { created_at: 1646126127.5 }],
    ['a negative finished_at', { finished_at: -1 }],
    ['status as a number', { status: 3 }],
    ['error as a string', { error: 'boom' }],
  ])('refuses a 200 with %s as InvalidResponse', (_name, change) => {
    // Prepare
    const body = { ...fixtureBody(KIND, '2024-10-21-succeeded'), ...change };

    // Act
    const f = failure(openai.interpret(answer(200, body), NOW));

    // Assess
    expect(f.code).toBe('InvalidResponse');
  });
});

describe('openai.fineTuning adapter: errors', () => {
  it('classifies the documented 404 notFound as NotFound with its upstream code', () => {
    expect(failure(openai.interpret(fixtureResponse(KIND, '404-not-found'), NOW))).toMatchObject({
      code: 'NotFound',
      httpStatus: 404,
      upstreamCode: 'notFound',
    });
  });

  it('reads "Please retry after 9 seconds" of a tooManyRequests 429', () => {
    expect(failure(openai.interpret(fixtureResponse(KIND, '429-too-many-requests'), NOW))).toMatchObject({
      code: 'RateLimited',
      upstreamCode: 'tooManyRequests',
      retryAfterMs: 9_000,
    });
  });

  it('reads the gateway 429 "Please retry after 86400 seconds" and "Try again in 2 seconds"', () => {
    expect(failure(openai.interpret(fixtureResponse(KIND, '429-gateway-retry-after'), NOW))).toMatchObject({
      code: 'RateLimited',
      upstreamCode: '429',
      retryAfterMs: 86_400_000,
    });
    expect(failure(openai.interpret(fixtureResponse(KIND, '429-gateway-try-again'), NOW))).toMatchObject({
      code: 'RateLimited',
      retryAfterMs: 2_000,
    });
  });

  it('prefers a Retry-After header over the body hint', () => {
    expect(
      failure(openai.interpret(fixtureResponse(KIND, '429-too-many-requests', { 'retry-after': '30' }), NOW)),
    ).toMatchObject({ code: 'RateLimited', retryAfterMs: 30_000 });
  });

  it('classifies the gateway 401 as Unauthorized and quotaExceeded 403 as QuotaExceeded with its wait', () => {
    expect(failure(openai.interpret(fixtureResponse(KIND, '401-gateway'), NOW))).toMatchObject({
      code: 'Unauthorized',
      upstreamCode: '401',
    });
    expect(failure(openai.interpret(fixtureResponse(KIND, '403-quota'), NOW))).toMatchObject({
      code: 'QuotaExceeded',
      upstreamCode: 'quotaExceeded',
      retryAfterMs: 86_400_000,
    });
  });
});
