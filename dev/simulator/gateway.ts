/**
 * Answers of the Cognitive Services gateway in front of every resource (docs/spec.md §4: "the gateway's 401/429 on every
 * kind"), as the services send them; sources in `test/fixtures/README.md` (`401-gateway`, `403-quota`, `429-gateway`).
 */
import type { ErrorAnswer } from './types';

export const GATEWAY_401_MESSAGE =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';

/** `{"error":{"code":"401",...}}`: a missing or wrong key. */
export const GATEWAY_UNAUTHORIZED = { error: { code: '401', message: GATEWAY_401_MESSAGE } } as const;

/** The free tier's call volume quota, with its "replenished in" wait. */
export const GATEWAY_QUOTA_EXCEEDED: ErrorAnswer = {
  status: 403,
  body: {
    error: { statusCode: 403, message: 'Out of call volume quota. Quota will be replenished in 2.12 days.' },
  },
};

/** The rate-limit answer with its wait in words ("Try again in N seconds"). */
export function gatewayRateLimitedBody(waitSeconds: number): object {
  return { error: { code: '429', message: `Rate limit is exceeded. Try again in ${waitSeconds} seconds.` } };
}
