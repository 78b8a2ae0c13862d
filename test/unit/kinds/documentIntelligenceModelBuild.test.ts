/** `documentIntelligence.modelBuild` (docs/spec.md §2 / §3 / §4), from the fixtures in `test/fixtures/`. */
import { describe, expect, it } from 'vitest';
import type { PollOutcome } from '../../../shared/model';
import { documentIntelligenceModelBuildAdapter as di } from '../../../shared/upstream/kinds/documentIntelligenceModelBuild';
import { fixtureBody, fixtureResponse } from '../../support/fixtures';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const KIND = di.kind;
const outcomeOf = (fixture: string): PollOutcome => di.interpret(fixtureResponse(KIND, fixture), NOW);
const ok = (body: unknown): PollOutcome =>
  di.interpret({ status: 200, headers: new Headers(), bodyText: JSON.stringify(body) }, NOW);

describe('documentIntelligence.modelBuild adapter: requests', () => {
  it('uses /documentintelligence for 2024-11-30 and /formrecognizer for 2023-07-31', () => {
    // Prepare
    const endpoint = 'https://d.cognitiveservices.azure.com';
    const identity = { operationId: '31533879936_426a3e4c' };

    // Act
    const urls = di.apiVersions.map((v) => di.buildUrl(endpoint, identity, v));

    // Assess
    expect(urls).toEqual([
      `${endpoint}/documentintelligence/operations/31533879936_426a3e4c?api-version=2024-11-30`,
      `${endpoint}/formrecognizer/operations/31533879936_426a3e4c?api-version=2023-07-31`,
    ]);
    expect(di.defaultBudget).toEqual({ calls: 60, periodMs: 60_000 });
  });

  it.each([['a/b'], ['a?b'], ['%2e'], ['..'], ['']])('refuses the operationId %j', (operationId) => {
    expect(di.parseIdentity({ operationId }).problems.map((p) => p.target)).toEqual(['operationId']);
  });
});

describe('documentIntelligence.modelBuild adapter: statuses', () => {
  it('reads the 2024-11-30 success with percentCompleted and lastUpdatedDateTime, dropping result', () => {
    expect(outcomeOf('2024-11-30-succeeded')).toEqual({
      kind: 'status',
      reading: {
        status: 'succeeded',
        upstreamStatus: 'succeeded',
        percentComplete: 100,
        upstreamUpdatedAt: '2021-09-23T09:13:01.000Z',
        upstream: {
          operationId: 'b704bb00-d130-4f3f-a1d8-ca96de3eabb4',
          status: 'succeeded',
          percentCompleted: 100,
          createdDateTime: '2021-09-23T09:12:57Z',
          lastUpdatedDateTime: '2021-09-23T09:13:01Z',
          kind: 'documentModelBuild',
          resourceLocation:
            'https://myendpoint.cognitiveservices.azure.com/documentintelligence/documentModels/myCustomModel',
        },
      },
    });
  });

  it('reads the 2023-07-31 Form Recognizer body the same way', () => {
    expect(outcomeOf('2023-07-31-succeeded')).toMatchObject({
      kind: 'status',
      reading: { status: 'succeeded', percentComplete: 100 },
    });
  });

  it('leaves percentComplete absent when the upstream omits percentCompleted (never invents 0)', () => {
    const outcome = outcomeOf('running-no-percent');
    expect(outcome).toMatchObject({ kind: 'status', reading: { status: 'running' } });
    expect(outcome.kind === 'status' && 'percentComplete' in outcome.reading).toBe(false);
  });

  it('keeps a percentCompleted of 0 that the upstream does send', () => {
    expect(outcomeOf('2024-11-30-running-percent0')).toMatchObject({ reading: { percentComplete: 0 } });
  });

  it.each([
    ['canceled', 'cancelled'],
    ['skipped', 'cancelled'],
    ['notStarted', 'notStarted'],
    ['failed', 'failed'],
  ])('maps %s to %s', (upstream, status) => {
    const body = { ...fixtureBody(KIND, 'canceled'), status: upstream };
    expect(ok(body)).toMatchObject({ kind: 'status', reading: { status, upstreamStatus: upstream } });
  });

  it('is terminal on succeeded, failed and cancelled only', () => {
    expect(
      ['succeeded', 'failed', 'cancelled', 'running', 'notStarted'].map((s) => di.phase(s as never)),
    ).toEqual(['terminal', 'terminal', 'terminal', 'active', 'active']);
  });

  it('gives a failed build the error message and keeps the error chain', () => {
    const outcome = outcomeOf('failed');
    expect(outcome).toMatchObject({
      kind: 'status',
      reading: {
        status: 'failed',
        message: 'Invalid request. Training data is missing.',
        upstream: { error: { code: 'InvalidRequest', innererror: { code: 'TrainingContentMissing' } } },
      },
    });
  });

  it('maps an unknown status to running, flagged', () => {
    expect(ok({ status: 'paused' })).toMatchObject({
      reading: { status: 'running', unknownUpstreamStatus: true },
    });
  });

  it.each([
    ['a non-string status', { status: 1 }],
    ['a percentCompleted over 100', { status: 'running', percentCompleted: 101 }],
    ['a date that is not ISO', { status: 'running', lastUpdatedDateTime: 'yesterday' }],
    ['an error that is not an object', { status: 'failed', error: 'x' }],
  ])('refuses %s as InvalidResponse', (_name, body) => {
    expect(ok(body)).toMatchObject({ kind: 'failure', failure: { code: 'InvalidResponse' } });
  });
});

describe('documentIntelligence.modelBuild adapter: errors', () => {
  it('takes the top-level NotFound as upstreamCode and keeps OperationNotFound in the message', () => {
    const outcome = outcomeOf('404-operation-not-found');
    expect(outcome).toMatchObject({ failure: { code: 'NotFound', upstreamCode: 'NotFound' } });
    expect(outcome.kind === 'failure' && outcome.failure.message).toMatch(/OperationNotFound/);
  });

  it('classifies the gateway 404, 401, 429 and the quota 403', () => {
    expect(outcomeOf('404-gateway-resource-not-found')).toMatchObject({ failure: { code: 'NotFound' } });
    expect(outcomeOf('401-gateway')).toMatchObject({ failure: { code: 'Unauthorized' } });
    expect(outcomeOf('429-gateway')).toMatchObject({ failure: { code: 'RateLimited', retryAfterMs: 2000 } });
    expect(outcomeOf('403-quota')).toMatchObject({ failure: { code: 'QuotaExceeded' } });
  });
});
