import { describe, expect, it } from 'vitest';
import { checkUpstreamOrigin } from '../../../shared/upstream/allowList';
import { customVisionIterationAdapter as customVision } from '../../../shared/upstream/kinds/customVisionIteration';
import { getAdapter } from '../../../shared/upstream/registry';
import {
  answerOf as answer,
  failureOf as failure,
  fixtureBody,
  fixtureResponse,
  readingOf as reading,
} from '../../support/fixtures';

const KIND = 'customVision.iteration';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const PROJECT = 'b6dd673c-be9e-4911-b2f6-02237b2d4872';
const ITERATION = 'a1608486-2795-499a-bf16-e9a3075e5388';

describe('customVision.iteration adapter: description', () => {
  it('is registered with v3.3, the Training-Key header, its budget and lastModified ordering', () => {
    expect(getAdapter(KIND)).toBe(customVision);
    expect({
      apiVersions: customVision.apiVersions,
      identityFields: customVision.identityFields,
      keyHeader: customVision.keyHeader,
      defaultBudget: customVision.defaultBudget,
      orderingField: customVision.orderingField,
    }).toEqual({
      apiVersions: ['v3.3'],
      identityFields: ['projectId', 'iterationId'],
      keyHeader: 'Training-Key',
      defaultBudget: { calls: 60, periodMs: 60_000 },
      orderingField: 'lastModified',
    });
  });

  it('builds the iteration URL', () => {
    expect(
      customVision.buildUrl(
        'https://mycv.cognitiveservices.azure.com',
        { projectId: PROJECT, iterationId: ITERATION },
        'v3.3',
      ),
    ).toBe(
      `https://mycv.cognitiveservices.azure.com/customvision/v3.3/training/projects/${PROJECT}/iterations/${ITERATION}`,
    );
  });

  it('lists a problem for each identity field that is not a GUID', () => {
    expect(
      customVision.parseIdentity({ projectId: 'proj', iterationId: '../x' }).problems.map((p) => p.target),
    ).toEqual(['projectId', 'iterationId']);
  });

  it('refuses an Azure OpenAI host: its key is not meant for it', () => {
    expect(checkUpstreamOrigin('https://mycv.openai.azure.com', [], customVision.allowedHosts).ok).toBe(
      false,
    );
    expect(
      checkUpstreamOrigin('https://southcentralus.api.cognitive.microsoft.com', [], customVision.allowedHosts)
        .ok,
    ).toBe(true);
  });
});

describe('customVision.iteration adapter: recorded bodies', () => {
  it('reads the recorded Training answer (CRLF-formatted) as running, ordered by lastModified', () => {
    // Act
    const r = reading(customVision.interpret(fixtureResponse(KIND, 'recorded-training'), NOW));

    // Assess
    expect(r.status).toBe('running');
    expect(r.upstreamStatus).toBe('Training');
    expect(r.upstreamUpdatedAt).toBe('2019-09-16T15:05:15.587Z');
    expect(r.upstream).toEqual({
      id: ITERATION,
      name: 'Iteration 2',
      status: 'Training',
      created: '2019-09-16T15:05:06.676Z',
      lastModified: '2019-09-16T15:05:15.587Z',
      projectId: PROJECT,
      domainId: null,
      classificationType: null,
      trainingType: 'Regular',
      reservedBudgetInHours: 0,
      trainingTimeInMinutes: 0,
      publishName: null,
    });
  });

  it('reads the recorded Completed answer as succeeded with trainedAt kept', () => {
    // Act
    const r = reading(customVision.interpret(fixtureResponse(KIND, 'recorded-completed'), NOW));

    // Assess
    expect(r.status).toBe('succeeded');
    expect(customVision.phase(r.status)).toBe('terminal');
    expect(r.upstream.trainedAt).toBe('2019-09-16T15:05:20.087Z');
    expect(r.upstreamUpdatedAt).toBe('2019-09-16T15:05:20.087Z');
  });

  it('orders the recorded polls of one iteration by lastModified', () => {
    const first = reading(customVision.interpret(fixtureResponse(KIND, 'recorded-training'), NOW));
    const later = reading(customVision.interpret(fixtureResponse(KIND, 'recorded-training-later'), NOW));
    const done = reading(customVision.interpret(fixtureResponse(KIND, 'recorded-completed'), NOW));
    expect([first, later, done].map((r) => r.upstreamUpdatedAt)).toEqual(
      [first, later, done].map((r) => r.upstreamUpdatedAt).sort(),
    );
  });

  it('reads Failed with trainingErrorDetails as failed with its message', () => {
    expect(reading(customVision.interpret(fixtureResponse(KIND, 'failed-with-details'), NOW))).toMatchObject({
      status: 'failed',
      upstreamStatus: 'Failed',
      message: 'Not enough images for tag.',
    });
  });

  it('maps New to notStarted and an unknown free-string status to running with a warning flag', () => {
    // Prepare
    const body = { ...fixtureBody(KIND, 'recorded-training'), status: 'New' };

    // Act
    const fresh = reading(customVision.interpret(answer(200, body), NOW));
    const unknown = reading(customVision.interpret(fixtureResponse(KIND, 'unknown-status'), NOW));

    // Assess
    expect(fresh.status).toBe('notStarted');
    expect(unknown).toMatchObject({
      status: 'running',
      upstreamStatus: 'Queued',
      unknownUpstreamStatus: true,
    });
  });

  it('refuses a 200 whose lastModified is not a date', () => {
    // Prepare
    const body = { ...fixtureBody(KIND, 'recorded-training'), lastModified: 42 };

    // Act
    const f = failure(customVision.interpret(answer(200, body), NOW));

    // Assess
    expect(f.code).toBe('InvalidResponse');
  });
});

describe('customVision.iteration adapter: errors', () => {
  it.each([
    ['404-NotFoundIteration', 'NotFoundIteration'],
    ['404-NotFoundProject', 'NotFoundProject'],
  ])('reads the top-level {code, message} %s as NotFound', (name, code) => {
    expect(failure(customVision.interpret(fixtureResponse(KIND, name), NOW))).toMatchObject({
      code: 'NotFound',
      httpStatus: 404,
      upstreamCode: code,
    });
  });

  it('classifies the gateway 401, quota 403 and 429 with its hint', () => {
    expect(failure(customVision.interpret(fixtureResponse(KIND, '401-gateway'), NOW)).code).toBe(
      'Unauthorized',
    );
    expect(failure(customVision.interpret(fixtureResponse(KIND, '403-quota'), NOW)).code).toBe(
      'QuotaExceeded',
    );
    expect(failure(customVision.interpret(fixtureResponse(KIND, '429-gateway'), NOW))).toMatchObject({
      code: 'RateLimited',
      retryAfterMs: 2_000,
    });
  });
});
