/**
 * `speech.customModel`: Speech to text – Models, Get Custom Model (docs/spec.md §2: api 2024-11-15, and v3.2 in the path).
 * A model build is a run: `Succeeded` and `Failed` (PascalCase) are terminal; `lastActionDateTime` orders updates.
 * The 200 may carry `Retry-After` ("the minimum number of seconds to wait before accessing the resource"): the
 * upstream's own hint for the next check, which is never made sooner (docs/spec.md §5). Errors are the top-level
 * `{"code","message","innerError"}` shape.
 */
import type { JobStatus, PollOutcome } from '../../model';
import { readDocumentedBody, statusReading, type FieldRules } from '../bodyShape';
import { classifyHttpError, cleanMessage, isRecord, retryAfterFromHeaders } from '../classify';
import { parseIsoDate } from '../dates';
import { COGNITIVE_SERVICES_HOSTS } from '../hosts';
import { guidField } from '../identity';
import { defineKind } from '../kind';
import type { UpstreamResponse, UpstreamRoute } from '../types';

const STATUSES: Readonly<Record<string, JobStatus>> = {
  notstarted: 'notStarted',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
};

/** The documented CustomModel fields kept (the links, datasets and features are left out). */
const FIELDS: FieldRules = {
  self: { type: 'string', max: 500 },
  displayName: { type: 'string', max: 200 },
  description: { type: 'string' },
  locale: { type: 'string', max: 50 },
  createdDateTime: { type: 'isoDate' },
  lastActionDateTime: { type: 'isoDate' },
  properties: {
    type: 'object',
    fields: {
      error: { type: 'object', fields: { code: { type: 'string', max: 100 }, message: { type: 'string' } } },
    },
  },
};

function interpretModel(response: UpstreamResponse, now: Date): PollOutcome {
  const body = readDocumentedBody(response, 'Speech custom model', FIELDS);
  if (!body.ok) return body.outcome;
  const reading = statusReading(body.upstreamStatus, body.upstream, STATUSES);
  const updatedAt = parseIsoDate(body.upstream.lastActionDateTime);
  if (updatedAt !== undefined) reading.upstreamUpdatedAt = updatedAt;
  const properties = body.upstream.properties;
  const error = isRecord(properties) ? properties.error : undefined;
  if (
    reading.status === 'failed' &&
    isRecord(error) &&
    typeof error.message === 'string' &&
    error.message !== ''
  ) {
    reading.message = cleanMessage(error.message);
  }
  const hint = retryAfterFromHeaders(response.headers, now);
  if (hint !== undefined) reading.retryAfterMs = hint;
  return { kind: 'status', reading };
}

export function interpretSpeechCustomModel(response: UpstreamResponse, now: Date): PollOutcome {
  if (response.status === 200) return interpretModel(response, now);
  return { kind: 'failure', failure: classifyHttpError(response, now) };
}

export const speechCustomModelAdapter = defineKind({
  kind: 'speech.customModel',
  apiVersions: ['2024-11-15', 'v3.2'],
  identity: [guidField('modelId')],
  route: (apiVersion): UpstreamRoute =>
    apiVersion === 'v3.2'
      ? { path: '/speechtotext/v3.2/models/{modelId}', query: {} }
      : { path: '/speechtotext/models/{modelId}', query: { 'api-version': apiVersion } },
  keyHeader: 'Ocp-Apim-Subscription-Key',
  allowedHosts: COGNITIVE_SERVICES_HOSTS,
  defaultBudget: { calls: 100, periodMs: 60_000 },
  orderingField: 'lastActionDateTime',
  lifecycle: { shape: 'run', terminal: new Set<JobStatus>(['succeeded', 'failed']) },
  interpret: interpretSpeechCustomModel,
});
