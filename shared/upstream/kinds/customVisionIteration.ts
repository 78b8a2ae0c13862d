/**
 * `customVision.iteration`: Custom Vision Training v3.3 – Get Iteration (docs/spec.md §2). An iteration is a run:
 * `Completed` and `Failed` are terminal. `status` is a free string in the spec ("Gets the current iteration
 * status"); the four known values are mapped, anything else is `running` with a warning. `lastModified` orders
 * updates. The key travels in `Training-Key`; errors are the top-level `{"code","message"}` CustomVisionError.
 */
import type { JobStatus, PollOutcome } from '../../model';
import { readDocumentedBody, statusReading, type FieldRules } from '../bodyShape';
import { classifyHttpError, cleanMessage } from '../classify';
import { parseIsoDate } from '../dates';
import { COGNITIVE_SERVICES_HOSTS } from '../hosts';
import { guidField } from '../identity';
import { defineKind } from '../kind';
import type { UpstreamResponse } from '../types';

const STATUSES: Readonly<Record<string, JobStatus>> = {
  new: 'notStarted',
  training: 'running',
  completed: 'succeeded',
  failed: 'failed',
};

/** The documented Iteration fields kept. */
const FIELDS: FieldRules = {
  id: { type: 'string', max: 100 },
  name: { type: 'string', max: 200 },
  created: { type: 'isoDate' },
  lastModified: { type: 'isoDate' },
  trainedAt: { type: 'isoDate' },
  projectId: { type: 'string', max: 100 },
  domainId: { type: 'string', max: 100 },
  classificationType: { type: 'string', max: 100 },
  trainingType: { type: 'string', max: 100 },
  trainingTimeInMinutes: { type: 'integer', min: 0 },
  reservedBudgetInHours: { type: 'integer', min: 0 },
  publishName: { type: 'string', max: 200 },
  trainingErrorDetails: { type: 'string' },
};

function interpretIteration(response: UpstreamResponse): PollOutcome {
  const body = readDocumentedBody(response, 'Custom Vision iteration', FIELDS);
  if (!body.ok) return body.outcome;
  const reading = statusReading(body.upstreamStatus, body.upstream, STATUSES);
  const updatedAt = parseIsoDate(body.upstream.lastModified);
  if (updatedAt !== undefined) reading.upstreamUpdatedAt = updatedAt;
  const details = body.upstream.trainingErrorDetails;
  if (reading.status === 'failed' && typeof details === 'string' && details !== '') {
    reading.message = cleanMessage(details);
  }
  return { kind: 'status', reading };
}

export function interpretCustomVisionIteration(response: UpstreamResponse, now: Date): PollOutcome {
  if (response.status === 200) return interpretIteration(response);
  return { kind: 'failure', failure: classifyHttpError(response, now) };
}

export const customVisionIterationAdapter = defineKind({
  kind: 'customVision.iteration',
  apiVersions: ['v3.3'],
  identity: [guidField('projectId'), guidField('iterationId')],
  route: (apiVersion) => ({
    path: `/customvision/${encodeURIComponent(apiVersion)}/training/projects/{projectId}/iterations/{iterationId}`,
    query: {},
  }),
  keyHeader: 'Training-Key',
  allowedHosts: COGNITIVE_SERVICES_HOSTS,
  defaultBudget: { calls: 60, periodMs: 60_000 },
  orderingField: 'lastModified',
  lifecycle: { shape: 'run', terminal: new Set<JobStatus>(['succeeded', 'failed']) },
  interpret: interpretCustomVisionIteration,
});
