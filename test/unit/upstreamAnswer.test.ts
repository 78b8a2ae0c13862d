/**
 * What the upstream last said (docs/spec.md §13): captured as sent (status, content type, the redacted body), only
 * when whole, and kept beside the status it set; transient errors and stale readings keep the answer before them.
 */
import { describe, expect, it } from 'vitest';
import type { JobState, PollOutcome, UpstreamAnswer } from '../../shared/model';
import { captureAnswer, MAX_ANSWER_BODY_CHARS, stateWithAnswer } from '../../shared/upstream/answer';

const AT = new Date('2026-01-01T00:00:00Z');
const OLD: UpstreamAnswer = { httpStatus: 200, body: '{"status":"running"}', at: '2025-12-31T23:59:00.000Z' };
const NEW: UpstreamAnswer = { httpStatus: 200, body: '{"status":"succeeded"}', at: AT.toISOString() };

function state(status: JobState['status'], lastAnswer?: UpstreamAnswer): JobState {
  return {
    status,
    upstreamStatus: status,
    upstream: {},
    checkedAt: null,
    changedAt: AT.toISOString(),
    nextCheckAt: null,
    lastError: null,
    consecutiveFailures: 0,
    ...(lastAnswer ? { lastAnswer } : {}),
  };
}

const reading = (answer?: UpstreamAnswer): PollOutcome => ({
  kind: 'status',
  reading: { status: 'succeeded', upstreamStatus: 'succeeded', upstream: {} },
  ...(answer ? { answer } : {}),
});
const failure = (
  code: 'NotFound' | 'RateLimited' | 'UpstreamUnavailable',
  answer?: UpstreamAnswer,
): PollOutcome => ({
  kind: 'failure',
  failure: { code, message: code, httpStatus: code === 'NotFound' ? 404 : 429 },
  ...(answer ? { answer } : {}),
});

describe('captureAnswer', () => {
  it('keeps the status, content type and body text as received', () => {
    // Prepare
    const body = '{"status":"notstarted","createdDateTime":"1/3/2017 4:11:35 AM","message":null}';

    // Act
    const answer = captureAnswer(
      {
        status: 200,
        headers: new Headers({ 'content-type': 'application/json; charset=utf-8' }),
        bodyText: body,
      },
      AT,
    );

    // Assess
    expect(answer).toEqual({
      httpStatus: 200,
      contentType: 'application/json; charset=utf-8',
      body,
      at: AT.toISOString(),
    });
  });

  it.each([
    ['a body cut at the read cap', { truncated: true, bodyText: '{"status":"running"}' }],
    ['a body longer than a Table property holds', { bodyText: 'x'.repeat(MAX_ANSWER_BODY_CHARS + 1) }],
  ])('keeps nothing of %s', (_name, response) => {
    // Act
    const answer = captureAnswer({ status: 200, headers: new Headers(), ...response }, AT);

    // Assess
    expect(answer).toBeUndefined();
  });
});

describe('stateWithAnswer', () => {
  it('stores the answer of an applied reading in place of the one before', () => {
    // Act
    const next = stateWithAnswer(state('succeeded', OLD), reading(NEW), false);

    // Assess
    expect(next.lastAnswer).toEqual(NEW);
  });

  it('drops the answer before when an applied reading brought none that can be kept', () => {
    // Act
    const next = stateWithAnswer(state('succeeded', OLD), reading(), false);

    // Assess
    expect(next.lastAnswer).toBeUndefined();
  });

  it('keeps the answer before a stale reading', () => {
    // Act
    const next = stateWithAnswer(state('running', OLD), reading(NEW), true);

    // Assess
    expect(next.lastAnswer).toEqual(OLD);
  });

  it('stores a 404 that made the job notFound, and keeps a terminal run on its last answer', () => {
    // Prepare
    const notFound: UpstreamAnswer = {
      httpStatus: 404,
      body: '{"error":{"code":"NotFound"}}',
      at: AT.toISOString(),
    };

    // Act
    const gone = stateWithAnswer(state('notFound', OLD), failure('NotFound', notFound), false);
    const kept = stateWithAnswer(state('succeeded', OLD), failure('NotFound', notFound), false);

    // Assess
    expect(gone.lastAnswer).toEqual(notFound);
    expect(kept.lastAnswer).toEqual(OLD);
  });

  it.each(['RateLimited', 'UpstreamUnavailable'] as const)('keeps the answer before a %s outcome', (code) => {
    // Act
    const next = stateWithAnswer(state('running', OLD), failure(code, { ...NEW, httpStatus: 429 }), false);

    // Assess
    expect(next.lastAnswer).toEqual(OLD);
  });
});
