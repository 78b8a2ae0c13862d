/**
 * The drop-in routes' own answers (docs/spec.md §13), in the upstream's shape: the Cognitive Services gateway in
 * front of every kind answers 401, 404 (no such route), 405 and 429 with `{"error":{"code":"<status>","message"}}`
 * (docs/spec.md §4: "the gateway's {"error":{"code","message"}} for 401/429 on every kind"), so one shape serves all
 * kinds and every SDK reads it as an error of its service. Sources of the texts: `test/fixtures/README.md`
 * (`401-gateway`, `404-gateway-resource-not-found`, `429-gateway`).
 */
import { createHash } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';
import type { UpstreamAnswer } from '../model';

export const UNAUTHORIZED_MESSAGE =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';
export const NOT_FOUND_MESSAGE = 'Resource not found';

const JSON_TYPE = 'application/json; charset=utf-8';

function gateway(status: number, message: string, headers: Record<string, string> = {}): HttpResponseInit {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, ...headers },
    body: JSON.stringify({ error: { code: String(status), message } }),
  };
}

/** A missing or wrong key (the gateway's 401). */
export function unauthorized(): HttpResponseInit {
  return gateway(401, UNAUTHORIZED_MESSAGE);
}

/** No such route, resource or job (the gateway's 404). */
export function resourceNotFound(): HttpResponseInit {
  return gateway(404, NOT_FOUND_MESSAGE);
}

/** Writes are not served here: they go to the upstream itself. */
export function methodNotAllowed(method: string): HttpResponseInit {
  return gateway(
    405,
    `${method} is not served by the training-status cache: send writes (train, cancel) to the upstream endpoint itself.`,
    { allow: 'GET, HEAD' },
  );
}

/** Wait `seconds` (the gateway's 429 with its "Try again in N seconds" hint and `Retry-After`). */
export function tooManyRequests(seconds: number): HttpResponseInit {
  const wait = Math.max(1, Math.ceil(seconds));
  return gateway(429, `Rate limit is exceeded. Try again in ${wait} seconds.`, {
    'retry-after': String(wait),
  });
}

/** The key could not be read from Key Vault: nothing can be checked now. */
export function serviceUnavailable(seconds: number): HttpResponseInit {
  const wait = Math.max(1, Math.ceil(seconds));
  return gateway(503, 'The service is temporarily unavailable. Try again later.', {
    'retry-after': String(wait),
  });
}

/** A strong ETag of an answer: its status and body. */
export function answerEtag(answer: Pick<UpstreamAnswer, 'httpStatus' | 'body'>): string {
  const hash = createHash('sha256').update(`${answer.httpStatus}\n${answer.body}`).digest('base64url');
  return `"${hash.slice(0, 27)}"`;
}

/** Whether an If-None-Match header matches `etag` (weak comparison, `*`, lists). */
export function matchesEtag(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}
