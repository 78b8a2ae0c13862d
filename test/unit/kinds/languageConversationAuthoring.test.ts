/** `language.conversationAuthoring`: as text authoring, with `trainingMode` kept (docs/spec.md §3). */
import { describe, expect, it } from 'vitest';
import type { PollOutcome } from '../../../shared/model';
import { languageConversationAuthoringAdapter as clu } from '../../../shared/upstream/kinds/languageConversationAuthoring';
import { fixtureResponse } from '../../support/fixtures';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const outcomeOf = (fixture: string): PollOutcome => clu.interpret(fixtureResponse(clu.kind, fixture), NOW);

describe('language.conversationAuthoring adapter', () => {
  it('builds the analyze-conversations URL with 2023-04-01 by default', () => {
    // Prepare / Act
    const url = clu.buildUrl(
      'https://l.cognitiveservices.azure.com',
      { projectName: 'Travel Bot', jobId: 'job/1' },
      clu.defaultApiVersion,
    );

    // Assess
    expect(url).toBe(
      'https://l.cognitiveservices.azure.com/language/authoring/analyze-conversations/projects/Travel%20Bot/train/jobs/job%2F1?api-version=2023-04-01',
    );
    expect(clu.apiVersions).toEqual(['2023-04-01', '2022-05-01']);
  });

  it.each(['2022-05-01-running', '2023-04-01-running'])('reads the documented example %s', (fixture) => {
    const outcome = outcomeOf(fixture);
    expect(outcome).toMatchObject({
      kind: 'status',
      reading: {
        status: 'running',
        percentComplete: 3,
        estimatedEndDateTime: '2022-04-18T15:47:58.819Z',
        upstreamUpdatedAt: '2022-04-18T15:45:48.000Z',
        upstream: { result: { trainingMode: 'standard', modelLabel: 'model1' } },
      },
    });
  });

  it('is terminal on succeeded and failed, with the first error as the message', () => {
    const succeeded = outcomeOf('succeeded');
    const failed = outcomeOf('failed');
    expect(succeeded.kind === 'status' && clu.phase(succeeded.reading.status)).toBe('terminal');
    expect(failed).toMatchObject({ kind: 'status', reading: { status: 'failed' } });
    expect(failed.kind === 'status' && failed.reading.message).toMatch(/labeled utterances/);
  });

  it('classifies its error answers (gateway 401 and 429, QuotaExceeded, NotFound)', () => {
    expect(outcomeOf('401-gateway')).toMatchObject({
      failure: { code: 'Unauthorized', upstreamCode: '401' },
    });
    expect(outcomeOf('403-quota')).toMatchObject({
      failure: { code: 'QuotaExceeded', retryAfterMs: (24 + 5) * 3_600_000 },
    });
    expect(outcomeOf('404-not-found')).toMatchObject({
      failure: { code: 'NotFound', upstreamCode: 'NotFound' },
    });
    expect(outcomeOf('429-gateway')).toMatchObject({ failure: { code: 'RateLimited', retryAfterMs: 2000 } });
  });
});
