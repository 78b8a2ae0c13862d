import { describe, expect, it } from 'vitest';
import { checkUpstreamOrigin } from '../../../shared/upstream/allowList';
import { speechCustomModelAdapter as speech } from '../../../shared/upstream/kinds/speechCustomModel';
import { getAdapter } from '../../../shared/upstream/registry';
import {
  answerOf as answer,
  failureOf as failure,
  fixtureBody,
  fixtureResponse,
  readingOf as reading,
} from '../../support/fixtures';

const KIND = 'speech.customModel';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const MODEL = '827712a5-f942-4997-91c3-7c6cde35600b';

describe('speech.customModel adapter: description', () => {
  it('is registered with its api versions, key header, budget and ordering field', () => {
    expect(getAdapter(KIND)).toBe(speech);
    expect({
      apiVersions: speech.apiVersions,
      identityFields: speech.identityFields,
      keyHeader: speech.keyHeader,
      defaultBudget: speech.defaultBudget,
      orderingField: speech.orderingField,
    }).toEqual({
      apiVersions: ['2024-11-15', 'v3.2'],
      identityFields: ['modelId'],
      keyHeader: 'Ocp-Apim-Subscription-Key',
      defaultBudget: { calls: 100, periodMs: 60_000 },
      orderingField: 'lastActionDateTime',
    });
  });

  it('builds the 2024-11-15 URL with the version in the query and the v3.2 URL with it in the path', () => {
    const endpoint = 'https://westus.api.cognitive.microsoft.com';
    expect(speech.buildUrl(endpoint, { modelId: MODEL }, '2024-11-15')).toBe(
      `${endpoint}/speechtotext/models/${MODEL}?api-version=2024-11-15`,
    );
    expect(speech.buildUrl(endpoint, { modelId: MODEL }, 'v3.2')).toBe(
      `${endpoint}/speechtotext/v3.2/models/${MODEL}`,
    );
  });

  it('refuses a model id that is not a GUID', () => {
    expect(speech.parseIdentity({ modelId: 'my-model' }).problems.map((p) => p.target)).toEqual(['modelId']);
    expect(speech.parseIdentity({ modelId: MODEL.toUpperCase() }).problems).toEqual([]);
  });

  it.each([
    ['https://westus.api.cognitive.microsoft.com', true],
    ['https://myspeech.cognitiveservices.azure.com', true],
    ['https://westus.stt.speech.microsoft.com', false],
    ['https://myres.openai.azure.com', false],
  ])('allows %s: %s', (endpoint, allowed) => {
    expect(checkUpstreamOrigin(endpoint, [], speech.allowedHosts).ok).toBe(allowed);
  });

  it.each([
    ['succeeded', 'terminal'],
    ['failed', 'terminal'],
    ['running', 'active'],
    ['notStarted', 'active'],
  ] as const)('treats %s as %s', (status, phase) => {
    expect(speech.phase(status)).toBe(phase);
  });
});

describe('speech.customModel adapter: documented bodies', () => {
  it.each([
    ['2024-11-15-running', 'running', 'Running'],
    ['v3.2-running', 'running', 'Running'],
    ['notStarted', 'notStarted', 'NotStarted'],
    ['succeeded', 'succeeded', 'Succeeded'],
    ['failed', 'failed', 'Failed'],
  ] as const)('maps the PascalCase status of %s to %s, keeping %s as sent', (name, status, raw) => {
    // Act
    const r = reading(speech.interpret(fixtureResponse(KIND, name), NOW));

    // Assess
    expect(r.status).toBe(status);
    expect(r.upstreamStatus).toBe(raw);
    expect(r.upstream.status).toBe(raw);
  });

  it('orders updates by lastActionDateTime and keeps only the documented fields', () => {
    // Act
    const r = reading(speech.interpret(fixtureResponse(KIND, '2024-11-15-running'), NOW));

    // Assess
    expect(r.upstreamUpdatedAt).toBe('2019-01-07T11:36:07.000Z');
    expect(r.upstream).toEqual({
      self: `https://westus.api.cognitive.microsoft.com/speechtotext/models/${MODEL}?api-version=2024-11-15`,
      displayName: 'Language model',
      description: 'This is a language model',
      locale: 'en-US',
      createdDateTime: '2019-01-07T11:34:12Z',
      lastActionDateTime: '2019-01-07T11:36:07Z',
      properties: {},
      status: 'Running',
    });
  });

  it('carries the Retry-After of a 200 as the upstream hint, and none when absent', () => {
    expect(
      reading(speech.interpret(fixtureResponse(KIND, '2024-11-15-running-retry-after'), NOW)).retryAfterMs,
    ).toBe(60_000);
    expect(
      reading(speech.interpret(fixtureResponse(KIND, '2024-11-15-running'), NOW)).retryAfterMs,
    ).toBeUndefined();
  });

  it('takes the message of a failed model from properties.error', () => {
    // Act
    const r = reading(speech.interpret(fixtureResponse(KIND, 'failed'), NOW));

    // Assess
    expect(r.message).toBe('The dataset does not contain any valid audio files.');
    expect(r.upstream.properties).toEqual({
      error: { code: 'InvalidData', message: 'The dataset does not contain any valid audio files.' },
    });
  });

  it.each([
    ['lastActionDateTime not a date', { lastActionDateTime: 'yesterday' }],
    ['status missing', { status: undefined }],
    ['properties as a string', { properties: 'x' }],
  ])('refuses a 200 with %s as InvalidResponse', (_name, change) => {
    // Prepare
    const body = { ...fixtureBody(KIND, '2024-11-15-running'), ...change };

    // Act
    const f = failure(speech.interpret(answer(200, body), NOW));

    // Assess
    expect(f.code).toBe('InvalidResponse');
  });
});

describe('speech.customModel adapter: errors', () => {
  it('reads the top-level {code, message} 404 as NotFound', () => {
    expect(failure(speech.interpret(fixtureResponse(KIND, '404-not-found'), NOW))).toMatchObject({
      code: 'NotFound',
      upstreamCode: 'NotFound',
      message: expect.stringContaining('was not found') as unknown,
    });
  });

  it('classifies 401, quota 403 (2.12 days) and 429 with its Retry-After', () => {
    expect(failure(speech.interpret(fixtureResponse(KIND, '401-gateway'), NOW)).code).toBe('Unauthorized');
    expect(failure(speech.interpret(fixtureResponse(KIND, '403-quota'), NOW))).toMatchObject({
      code: 'QuotaExceeded',
      retryAfterMs: Math.ceil(2.12 * 24 * 3600 * 1000),
    });
    expect(failure(speech.interpret(fixtureResponse(KIND, '429-gateway'), NOW))).toMatchObject({
      code: 'RateLimited',
      retryAfterMs: 2_000,
    });
  });
});
