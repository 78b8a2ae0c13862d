import { describe, expect, it } from 'vitest';
import {
  MAX_RETRY_AFTER_MS,
  classifyHttpError,
  parseErrorBody,
  parseQuotaReplenishHint,
  parseRetryAfter,
  parseRetryAfterMs,
  parseTryAgainHint,
  retryAfterFromHeaders,
} from '../../shared/upstream/classify';
import type { UpstreamResponse } from '../../shared/upstream/types';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const DAY_MS = 86_400_000;

function answer(status: number, bodyText: string, headers: Record<string, string> = {}): UpstreamResponse {
  return { status, bodyText, headers: new Headers(headers) };
}

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('reads an HTTP-date relative to now', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', NOW)).toBe(30_000);
  });

  it('gives 0 for an HTTP-date in the past', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', NOW)).toBe(0);
  });

  it.each([['-5'], ['soon'], [''], ['12abc'], ['1e3'], ['2024-05-01T12:00:30Z'], ['Mon, garbage']])(
    'ignores a value that is neither seconds nor an HTTP-date: %j',
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );

  it('clamps an absurd wait to the maximum', () => {
    expect(parseRetryAfter('99999999999999999999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
  });
});

describe('parseRetryAfterMs', () => {
  it('reads milliseconds', () => {
    expect(parseRetryAfterMs('1500')).toBe(1500);
  });

  it.each([['-1'], ['abc'], [''], [null]])('ignores %j', (value) => {
    expect(parseRetryAfterMs(value)).toBeUndefined();
  });
});

describe('retryAfterFromHeaders', () => {
  it('prefers retry-after-ms, then x-ms-retry-after-ms, then Retry-After', () => {
    // Prepare
    const all = new Headers({ 'retry-after-ms': '1500', 'x-ms-retry-after-ms': '2500', 'retry-after': '9' });
    const noMs = new Headers({ 'x-ms-retry-after-ms': '2500', 'retry-after': '9' });
    const onlyRetryAfter = new Headers({ 'Retry-After': '9' });

    // Act
    const results = [all, noMs, onlyRetryAfter].map((h) => retryAfterFromHeaders(h, NOW));

    // Assess
    expect(results).toEqual([1500, 2500, 9000]);
  });

  it('skips an invalid header and uses the next one', () => {
    expect(retryAfterFromHeaders(new Headers({ 'retry-after-ms': 'nope', 'retry-after': '4' }), NOW)).toBe(
      4000,
    );
  });

  it('gives undefined without any wait header', () => {
    expect(retryAfterFromHeaders(new Headers(), NOW)).toBeUndefined();
  });
});

describe('Face body hints', () => {
  it('reads "Try again in N seconds" from the seed 429 message', () => {
    expect(parseTryAgainHint('Rate limit is exceeded. Try again in 26 seconds.')).toBe(26_000);
  });

  it('reads a try-again hint in minutes', () => {
    expect(parseTryAgainHint('Try again in 2 minutes.')).toBe(120_000);
  });

  it('gives undefined for a message without a hint', () => {
    expect(parseTryAgainHint('Rate limit is exceeded.')).toBeUndefined();
  });

  it('reads fractional days from the seed quota message', () => {
    expect(parseQuotaReplenishHint('Out of call volume quota. Quota will be replenished in 2.12 days.')).toBe(
      Math.ceil(2.12 * DAY_MS),
    );
  });

  it.each([
    ['Quota will be replenished in 1 day.', DAY_MS],
    ['Quota will be replenished in 3 hours.', 3 * 3_600_000],
    ['Quota will be replenished in 45 minutes.', 45 * 60_000],
    ['Quota will be replenished in 30 seconds.', 30_000],
    ['Quota will be replenished in 1.02:03:04.', DAY_MS + 2 * 3_600_000 + 3 * 60_000 + 4000],
    ['Quota will be replenished in 02:00:00.', 2 * 3_600_000],
    ['Out of call volume quota for TextAnalytics F0 pricing tier. Please retry after 15 days.', 15 * DAY_MS],
  ])('reads the replenish time of %j', (message, ms) => {
    expect(parseQuotaReplenishHint(message)).toBe(ms);
  });

  it('gives undefined for a quota message without a time', () => {
    expect(parseQuotaReplenishHint('Out of call volume quota.')).toBeUndefined();
  });
});

describe('parseErrorBody', () => {
  it('reads the {"error":{"code","message"}} shape', () => {
    expect(parseErrorBody('{"error":{"code":"PersonGroupNotFound","message":"Not found."}}')).toEqual({
      code: 'PersonGroupNotFound',
      message: 'Not found.',
    });
  });

  it('reads the {"error":{"statusCode","message"}} shape', () => {
    expect(parseErrorBody('{"error":{"statusCode":429,"message":"Rate limit is exceeded."}}')).toEqual({
      statusCode: 429,
      message: 'Rate limit is exceeded.',
    });
  });

  it('reads the top-level {"statusCode","message"} shape of API Management', () => {
    expect(parseErrorBody('{"statusCode":401,"message":"Access denied."}')).toEqual({
      statusCode: 401,
      message: 'Access denied.',
    });
  });

  it('reads the Language ErrorResponse with its innermost innererror code', () => {
    // Prepare
    const body = JSON.stringify({
      error: {
        code: 'InvalidRequest',
        message: 'Bad.',
        innererror: {
          code: 'InvalidParameterValue',
          message: 'x',
          innererror: { code: 'ModelVersionIncorrect' },
        },
      },
    });

    // Act
    const parsed = parseErrorBody(body);

    // Assess
    expect(parsed).toEqual({ code: 'InvalidRequest', message: 'Bad.', innerCode: 'ModelVersionIncorrect' });
  });

  it('reads the seed 409 body although its code is not quoted', () => {
    const seed =
      '{ "error":{ "code": ConcurrentOperationConflict, "message": "There is a conflict operation on resource \'sample_group\', please try later." } }';

    expect(parseErrorBody(seed)).toEqual({
      code: 'ConcurrentOperationConflict',
      message: "There is a conflict operation on resource 'sample_group', please try later.",
    });
  });

  it.each([
    ['an HTML page', '<html><body><h1>502 Bad Gateway</h1></body></html>'],
    ['an empty body', ''],
    ['a JSON array', '[{"error":{"code":"X"}}]'],
    ['a JSON string', '"error"'],
    ['null', 'null'],
    ['fields of the wrong types', '{"error":{"code":5,"message":["a"],"statusCode":"429","innererror":"x"}}'],
    ['an error that is a string', '{"error":"boom"}'],
  ])('gives no fields for %s', (_name, body) => {
    expect(parseErrorBody(body)).toEqual({});
  });

  it('does not crash on deeply nested JSON', () => {
    const deep = `${'{"error":'.repeat(50_000)}1${'}'.repeat(50_000)}`;

    expect(() => parseErrorBody(deep)).not.toThrow();
  });

  it('does not crash on deeply nested innererror', () => {
    let inner: Record<string, unknown> = { code: 'Deepest' };
    for (let i = 0; i < 2000; i += 1) inner = { innererror: inner };
    const body = JSON.stringify({ error: { code: 'Top', innererror: inner } });

    expect(parseErrorBody(body)).toEqual({ code: 'Top' });
  });

  it('ignores a body over the parse limit', () => {
    const huge = JSON.stringify({ error: { code: 'X', message: 'y'.repeat(300_000) } });

    expect(parseErrorBody(huge)).toEqual({});
  });
});

describe('classifyHttpError', () => {
  it('classifies 401 as Unauthorized with the upstream code and message', () => {
    expect(
      classifyHttpError(answer(401, '{"error":{"code":"Unspecified","message":"Denied."}}'), NOW),
    ).toEqual({
      code: 'Unauthorized',
      message: 'Denied.',
      httpStatus: 401,
      upstreamCode: 'Unspecified',
    });
  });

  it('classifies a quota 403 as QuotaExceeded with the body wait before the header wait', () => {
    const response = answer(
      403,
      '{"error":{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 1 hours."}}',
      { 'retry-after': '10' },
    );

    expect(classifyHttpError(response, NOW)).toMatchObject({
      code: 'QuotaExceeded',
      retryAfterMs: 3_600_000,
    });
  });

  it('takes the quota wait from headers when the body has none', () => {
    const response = answer(403, '{"error":{"code":"QuotaExceeded","message":"Quota exceeded."}}', {
      'retry-after': '600',
    });

    expect(classifyHttpError(response, NOW)).toMatchObject({ code: 'QuotaExceeded', retryAfterMs: 600_000 });
  });

  it('leaves the quota wait undefined when nothing states it', () => {
    const failure = classifyHttpError(answer(403, '{"error":{"code":"QuotaExceeded","message":"No."}}'), NOW);

    expect(failure.code).toBe('QuotaExceeded');
    expect(failure.retryAfterMs).toBeUndefined();
  });

  it('classifies another 403 as Forbidden', () => {
    expect(
      classifyHttpError(
        answer(403, '{"error":{"code":"UnsupportedFeature","message":"Not in this tier."}}'),
        NOW,
      ),
    ).toEqual({
      code: 'Forbidden',
      message: 'Not in this tier.',
      httpStatus: 403,
      upstreamCode: 'UnsupportedFeature',
    });
  });

  it('lets an adapter hook mark a 403 as quota', () => {
    const failure = classifyHttpError(answer(403, '{"error":{"code":"OutOfQuota","message":"x"}}'), NOW, {
      isQuotaExceeded: (error) => error.code === 'OutOfQuota',
    });

    expect(failure.code).toBe('QuotaExceeded');
  });

  it('lets an adapter hook supply a body wait', () => {
    const failure = classifyHttpError(answer(429, '{"error":{"message":"wait 7"}}'), NOW, {
      bodyRetryAfterMs: (error) => (error.message === 'wait 7' ? 7000 : undefined),
    });

    expect(failure).toMatchObject({ code: 'RateLimited', retryAfterMs: 7000 });
  });

  it('classifies 404 as NotFound', () => {
    expect(
      classifyHttpError(answer(404, '{"error":{"code":"ProjectNotFound","message":"No."}}'), NOW),
    ).toMatchObject({
      code: 'NotFound',
      httpStatus: 404,
      upstreamCode: 'ProjectNotFound',
    });
  });

  it('classifies 409 as Conflict even with an unreadable body', () => {
    expect(classifyHttpError(answer(409, 'not json at all'), NOW)).toMatchObject({
      code: 'Conflict',
      httpStatus: 409,
    });
  });

  it('classifies 429 with the header wait before the body hint', () => {
    const response = answer(429, '{"error":{"statusCode":429,"message":"Try again in 26 seconds."}}', {
      'retry-after': '3',
    });

    expect(classifyHttpError(response, NOW)).toMatchObject({ code: 'RateLimited', retryAfterMs: 3000 });
  });

  it('classifies 429 without any hint with no wait', () => {
    const failure = classifyHttpError(answer(429, ''), NOW);

    expect(failure.code).toBe('RateLimited');
    expect(failure.retryAfterMs).toBeUndefined();
  });

  it.each([[500], [502], [503], [504]])('classifies %i as UpstreamUnavailable', (status) => {
    expect(classifyHttpError(answer(status, '<html>oops</html>'), NOW)).toMatchObject({
      code: 'UpstreamUnavailable',
      httpStatus: status,
    });
  });

  it('keeps Retry-After on a 503', () => {
    expect(classifyHttpError(answer(503, '', { 'retry-after': '20' }), NOW)).toMatchObject({
      code: 'UpstreamUnavailable',
      retryAfterMs: 20_000,
    });
  });

  it.each([[301], [302], [307], [308]])(
    'classifies a %i redirect as InvalidResponse, not followed',
    (status) => {
      const failure = classifyHttpError(answer(status, '', { location: 'https://evil.example/' }), NOW);

      expect(failure).toMatchObject({ code: 'InvalidResponse', httpStatus: status });
      expect(failure.message).toMatch(/redirect not followed/);
    },
  );

  it.each([[400], [202], [204], [200], [418]])('classifies an unexpected %i as InvalidResponse', (status) => {
    expect(classifyHttpError(answer(status, ''), NOW)).toMatchObject({
      code: 'InvalidResponse',
      httpStatus: status,
    });
  });

  it('truncates the upstream message to 500 characters', () => {
    const failure = classifyHttpError(
      answer(401, JSON.stringify({ error: { code: 'X', message: 'm'.repeat(2000) } })),
      NOW,
    );

    expect(failure.message.length).toBe(500);
  });

  it('removes control characters from the upstream message', () => {
    const failure = classifyHttpError(
      answer(401, JSON.stringify({ error: { message: 'a\r\nInjected: b' } })),
      NOW,
    );

    expect(failure.message).toBe('a Injected: b');
  });

  it('adds the innererror code to the message', () => {
    const body = JSON.stringify({
      error: { code: 'InvalidRequest', message: 'Bad.', innererror: { code: 'InvalidParameterValue' } },
    });

    expect(classifyHttpError(answer(404, body), NOW)).toMatchObject({
      upstreamCode: 'InvalidRequest',
      message: 'Bad. (InvalidParameterValue)',
    });
  });

  it('gives a generic message when the body has none', () => {
    expect(classifyHttpError(answer(500, ''), NOW).message).toBe('Upstream answered 500.');
  });
});

describe('Shared error conventions of every kind', () => {
  it('reads the "Please retry after N seconds" hint of a 429 body', () => {
    // Prepare: an Azure OpenAI-style 429 without any header.
    const body = JSON.stringify({
      error: {
        code: '429',
        message: 'Requests to the API have exceeded call rate limit. Please retry after 20 seconds.',
      },
    });

    // Act
    const failure = classifyHttpError(answer(429, body), NOW);

    // Assess
    expect(failure).toMatchObject({ code: 'RateLimited', retryAfterMs: 20_000, upstreamCode: '429' });
  });

  it('takes the code from the x-ms-error-code header when the body names none', () => {
    // Prepare / Act
    const failure = classifyHttpError(answer(404, '', { 'x-ms-error-code': 'OperationNotFound' }), NOW);

    // Assess
    expect(failure).toMatchObject({ code: 'NotFound', upstreamCode: 'OperationNotFound' });
  });

  it('keeps the body code over the x-ms-error-code header', () => {
    const body = JSON.stringify({ code: 'NotFoundIteration', message: 'Not found.' });
    const failure = classifyHttpError(answer(404, body, { 'x-ms-error-code': 'Other' }), NOW);
    expect(failure.upstreamCode).toBe('NotFoundIteration');
  });
});
