/**
 * `face.largePersonGroup` and `face.largeFaceList`: parsed exactly as person groups (docs/spec.md §3), with their own
 * paths, identity fields and 404 codes. Bodies from `test/fixtures/<kind>/` (sources beside them).
 */
import { describe, expect, it } from 'vitest';
import type { PollOutcome } from '../../../shared/model';
import { faceLargeFaceListAdapter } from '../../../shared/upstream/kinds/faceLargeFaceList';
import { faceLargePersonGroupAdapter } from '../../../shared/upstream/kinds/faceLargePersonGroup';
import type { JobAdapter } from '../../../shared/upstream/types';
import { fixtureResponse } from '../../support/fixtures';

const NOW = new Date('2024-05-01T12:00:00.000Z');

const CASES: ReadonlyArray<{ adapter: JobAdapter; idField: string; segment: string; code: string }> = [
  {
    adapter: faceLargePersonGroupAdapter,
    idField: 'largePersonGroupId',
    segment: 'largepersongroups',
    code: 'LargePersonGroup',
  },
  {
    adapter: faceLargeFaceListAdapter,
    idField: 'largeFaceListId',
    segment: 'largefacelists',
    code: 'LargeFaceList',
  },
];

function outcomeOf(adapter: JobAdapter, fixture: string): PollOutcome {
  return adapter.interpret(fixtureResponse(adapter.kind, fixture), NOW);
}

describe.each(CASES)('$adapter.kind adapter', ({ adapter, idField, segment, code }) => {
  it('builds the documented URL for both api versions, the id percent-encoded', () => {
    // Prepare
    const identity = { [idField]: 'my_list-1' };

    // Act
    const urls = adapter.apiVersions.map((v) =>
      adapter.buildUrl('https://f.cognitiveservices.azure.com', identity, v),
    );

    // Assess
    expect(urls).toEqual([
      `https://f.cognitiveservices.azure.com/face/v1.0/${segment}/my_list-1/training`,
      `https://f.cognitiveservices.azure.com/face/v1.2/${segment}/my_list-1/training`,
    ]);
    expect(adapter.defaultBudget).toEqual({ calls: 20, periodMs: 60_000 });
    expect(adapter.keyHeader).toBe('Ocp-Apim-Subscription-Key');
  });

  it('validates its id as a Face id and refuses a person group id', () => {
    expect(adapter.parseIdentity({ [idField]: 'Upper' }).problems.map((p) => p.target)).toEqual([idField]);
    expect(adapter.parseIdentity({ personGroupId: 'g' }).problems).toEqual([
      { target: idField, message: `${idField} is required.` },
    ]);
    expect(adapter.parseIdentity({ [idField]: 'ok-1' })).toEqual({
      identity: { [idField]: 'ok-1' },
      problems: [],
    });
  });

  it('reads the v1.0 success body with its ISO dates and lastSuccessfulTrainingDateTime', () => {
    const outcome = outcomeOf(adapter, 'v1.0-succeeded');
    expect(outcome).toEqual({
      kind: 'status',
      reading: {
        status: 'succeeded',
        upstreamStatus: 'succeeded',
        upstreamUpdatedAt: '2017-12-21T12:57:30.000Z',
        upstream: {
          status: 'succeeded',
          createdDateTime: '2017-12-21T12:57:27.000Z',
          lastActionDateTime: '2017-12-21T12:57:30.000Z',
          lastSuccessfulTrainingDateTime: '2017-12-21T12:57:30.000Z',
        },
      },
    });
  });

  it('reads the v1.2 camelCase notStarted', () => {
    const outcome = outcomeOf(adapter, 'v1.2-notStarted-camelCase');
    expect(outcome.kind === 'status' && outcome.reading.status).toBe('notStarted');
  });

  it(`reads 404 ${code}NotTrained as notStarted, and ${code}NotFound as NotFound`, () => {
    expect(outcomeOf(adapter, `404-${code}NotTrained`)).toEqual({
      kind: 'status',
      reading: { status: 'notStarted', upstreamStatus: `${code}NotTrained`, upstream: {} },
    });
    expect(outcomeOf(adapter, `404-${code}NotFound`)).toMatchObject({
      kind: 'failure',
      failure: { code: 'NotFound', httpStatus: 404, upstreamCode: `${code}NotFound` },
    });
  });

  it('classifies the quota 403 and the 429 with their body hints', () => {
    expect(outcomeOf(adapter, '403-quota')).toMatchObject({
      failure: { code: 'QuotaExceeded', retryAfterMs: Math.ceil(2.12 * 86_400_000) },
    });
    expect(outcomeOf(adapter, '429-try-again')).toMatchObject({
      failure: { code: 'RateLimited', retryAfterMs: 26_000 },
    });
  });

  it('is idle, never terminal, after a run (a collection can be retrained)', () => {
    expect(['succeeded', 'failed', 'notFound', 'running'].map((s) => adapter.phase(s as never))).toEqual([
      'idle',
      'idle',
      'idle',
      'active',
    ]);
  });
});
