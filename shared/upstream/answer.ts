/**
 * What the upstream last said (docs/spec.md §13): the answer kept beside a job's status so that drop-in reads can
 * serve it as the upstream sent it. Pure: no I/O.
 */
import type { JobState, PollOutcome, UpstreamAnswer } from '../model';
import { isTruncated } from './classify';
import type { UpstreamResponse } from './types';

/** Longest body kept (a Table string property holds 32 K characters). A longer body is not kept. */
export const MAX_ANSWER_BODY_CHARS = 32 * 1024;
const MAX_CONTENT_TYPE_CHARS = 200;

/**
 * The answer of `response`, or undefined when it cannot be kept whole (cut at the read cap, or longer than
 * `MAX_ANSWER_BODY_CHARS`). The body is `fetchUpstream`'s: every echo of the request's key is already redacted.
 */
export function captureAnswer(response: UpstreamResponse, at: Date): UpstreamAnswer | undefined {
  if (isTruncated(response) || response.bodyText.length > MAX_ANSWER_BODY_CHARS) return undefined;
  const contentType = response.headers.get('content-type')?.trim();
  return {
    httpStatus: response.status,
    // eslint-disable-next-line no-control-regex
    ...(contentType && !/[\u0000-\u001f\u007f]/.test(contentType)
      ? { contentType: contentType.slice(0, MAX_CONTENT_TYPE_CHARS) }
      : {}),
    body: response.bodyText,
    at: at.toISOString(),
  };
}

/** `outcome` with the answer of `response` attached (when it can be kept). */
export function withAnswer(outcome: PollOutcome, response: UpstreamResponse, at: Date): PollOutcome {
  const answer = captureAnswer(response, at);
  return answer === undefined ? outcome : { ...outcome, answer };
}

/**
 * The state to store after a poll, with the answer the status came from. An answer is kept when it set the status:
 * a reading that was applied (a 200, or a Face `...NotTrained` 404), or a 404 that made the job `notFound`. Any other
 * outcome (401, 403, 409, 429, 5xx, no answer, a stale reading, a 404 after a terminal run) keeps the answer before
 * it, as it keeps the status: a drop-in reader sees the last status and never the transient error.
 */
export function stateWithAnswer(state: JobState, outcome: PollOutcome, stale: boolean): JobState {
  const sets =
    (outcome.kind === 'status' && !stale) ||
    (outcome.kind === 'failure' && outcome.failure.code === 'NotFound' && state.status === 'notFound');
  if (!sets) return state;
  const next: JobState = { ...state };
  if (outcome.answer === undefined) delete next.lastAnswer;
  else next.lastAnswer = outcome.answer;
  return next;
}
