/**
 * `openai.fineTuning`: Azure OpenAI – Fine-tuning jobs, Get (docs/spec.md §2, authoring api 2024-10-21). A job is a run;
 * its times are unix seconds and it has no last-updated field, so no stale-update ordering applies (a terminal
 * status is still never replaced by a non-terminal one, docs/spec.md §3). The key travels in `api-key`, and only
 * this kind may call `*.openai.azure.com` and its sovereign twins (§8).
 */
import type { JobStatus, PollOutcome } from '../../model';
import { readDocumentedBody, statusReading, type FieldRules } from '../bodyShape';
import { classifyHttpError, cleanMessage, isRecord } from '../classify';
import { parseUnixSeconds } from '../dates';
import { COGNITIVE_SERVICES_HOSTS } from '../hosts';
import { segmentField } from '../identity';
import { defineKind } from '../kind';
import type { UpstreamResponse } from '../types';

/** Azure documents created, pending, running, succeeded, cancelled, failed; the rest are openai.com's. */
const STATUSES: Readonly<Record<string, JobStatus>> = {
  created: 'notStarted',
  pending: 'notStarted',
  validating_files: 'notStarted',
  queued: 'notStarted',
  running: 'running',
  pausing: 'running',
  paused: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** The documented FineTuningJob fields kept (times as unix seconds, as sent). */
const FIELDS: FieldRules = {
  id: { type: 'string', max: 200 },
  object: { type: 'string', max: 100 },
  model: { type: 'string', max: 200 },
  fine_tuned_model: { type: 'string', max: 300 },
  created_at: { type: 'unixSeconds' },
  finished_at: { type: 'unixSeconds' },
  estimated_finish: { type: 'unixSeconds' },
  trained_tokens: { type: 'integer', min: 0 },
  training_file: { type: 'string', max: 200 },
  validation_file: { type: 'string', max: 200 },
  error: {
    type: 'object',
    fields: {
      code: { type: 'string', max: 100 },
      message: { type: 'string' },
      param: { type: 'string', max: 200 },
    },
  },
};

function interpretJob(response: UpstreamResponse): PollOutcome {
  const body = readDocumentedBody(response, 'Azure OpenAI fine-tuning job', FIELDS);
  if (!body.ok) return body.outcome;
  const reading = statusReading(body.upstreamStatus, body.upstream, STATUSES);
  // estimated_finish 0 (openai.com's placeholder) is not an estimate.
  const estimate = body.upstream.estimated_finish;
  if (typeof estimate === 'number' && estimate > 0) {
    const iso = parseUnixSeconds(estimate);
    if (iso !== undefined) reading.estimatedEndDateTime = iso;
  }
  const error = body.upstream.error;
  if (
    reading.status === 'failed' &&
    isRecord(error) &&
    typeof error.message === 'string' &&
    error.message !== ''
  ) {
    reading.message = cleanMessage(error.message);
  }
  return { kind: 'status', reading };
}

export function interpretOpenAiFineTuning(response: UpstreamResponse, now: Date): PollOutcome {
  if (response.status === 200) return interpretJob(response);
  // The shared table reads Azure OpenAI's "Please retry after N seconds" (429) and quotaExceeded (403).
  return { kind: 'failure', failure: classifyHttpError(response, now) };
}

export const openAiFineTuningAdapter = defineKind({
  kind: 'openai.fineTuning',
  apiVersions: ['2024-10-21'],
  identity: [segmentField('fineTuningJobId')],
  route: (apiVersion) => ({
    path: '/openai/fine_tuning/jobs/{fineTuningJobId}',
    query: { 'api-version': apiVersion },
  }),
  keyHeader: 'api-key',
  allowedHosts: [...COGNITIVE_SERVICES_HOSTS, '*.openai.azure.com', '*.openai.azure.us', '*.openai.azure.cn'],
  defaultBudget: { calls: 60, periodMs: 60_000 },
  orderingField: undefined,
  lifecycle: { shape: 'run', terminal: new Set<JobStatus>(['succeeded', 'failed', 'cancelled']) },
  interpret: interpretOpenAiFineTuning,
});
