/**
 * The simulated Custom Vision Training v3.3 – Get Iteration API for `customVision.iteration`: the Iteration body as
 * azure-sdk-for-net recorded it (CRLF-indented JSON; `New` → `Training` → `Completed` / `Failed`), the key in
 * `Training-Key`, and the top-level `{"code","message"}` CustomVisionError (`NotFoundProject`, `NotFoundIteration`).
 */
import { customVisionIterationAdapter } from '../../shared/upstream/kinds/customVisionIteration';
import { GATEWAY_QUOTA_EXCEEDED, GATEWAY_UNAUTHORIZED, gatewayRateLimitedBody } from './gateway';
import { createRunApi, guidFromSeed, runPhase } from './runJobs';
import {
  SECOND_MS,
  decodeSegment,
  json,
  type Answer,
  type KindErrorAnswers,
  type SimulatedApi,
  type SimulatedRequest,
  type SimulatedRun,
} from './types';

/** The project of the generated and demo iterations (the recorded session's project). */
const SAMPLE_PROJECT = 'b6dd673c-be9e-4911-b2f6-02237b2d4872';
const ROUTE = /^\/customvision\/([^/]+)\/training\/projects\/([^/]+)\/iterations\/([^/]+)\/?$/;

export interface IterationTimeline extends SimulatedRun {
  /** `trainingErrorDetails` of a failed iteration; a default when absent. */
  errorDetails?: string;
}

export const CUSTOM_VISION_ITERATION_ERRORS: KindErrorAnswers = {
  unauthorized: { status: 401, body: GATEWAY_UNAUTHORIZED },
  quotaExceeded: GATEWAY_QUOTA_EXCEEDED,
  forbidden: {
    status: 403,
    body: { code: 'Forbidden', message: 'The user is not allowed to use this project.' },
  },
  notFound: { status: 404, body: { code: 'NotFoundIteration', message: 'Invalid iteration' } },
  conflict: {
    status: 409,
    body: { code: 'Conflict', message: 'The project is being trained, please try later.' },
  },
  rateLimited: { status: 429, body: gatewayRateLimitedBody(26) },
  rateLimitedHintMs: 26_000,
  serverError: { status: 500, body: { code: 'ErrorUnknown', message: 'An unexpected error occurred.' } },
};

/** ISO with milliseconds and `Z`, as the recorded bodies (`2019-09-16T15:05:15.587Z`). */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function iterationBody(
  projectId: string,
  iterationId: string,
  iteration: IterationTimeline,
  nowMs: number,
): Record<string, unknown> {
  const phase = runPhase(iteration, nowMs);
  const body: Record<string, unknown> = {
    id: iterationId,
    name: 'Iteration 1',
    status: 'New',
    created: iso(iteration.createdAt.getTime()),
    lastModified: iso(iteration.createdAt.getTime()),
    projectId,
    exportable: false,
    exportableTo: null,
    domainId: null,
    classificationType: null,
    trainingType: 'Regular',
    reservedBudgetInHours: 0,
    trainingTimeInMinutes: 0,
    publishName: null,
    originalPublishResourceId: null,
  };
  if (phase.phase === 'running') {
    body.status = 'Training';
    // The service touches lastModified every few seconds while training.
    body.lastModified = iso(Math.max(iteration.startAt.getTime(), Math.floor(nowMs / 5_000) * 5_000));
  } else if (phase.phase === 'ended') {
    const completed = phase.outcome === 'succeeded';
    body.status = completed ? 'Completed' : 'Failed';
    body.lastModified = iso(phase.endMs);
    body.domainId = 'ee85a74c-405e-4adc-bb47-ffa8ca0c9f31';
    body.classificationType = 'Multilabel';
    body.trainingTimeInMinutes = Math.max(1, Math.round(iteration.durationMs / 60_000));
    if (completed) body.trainedAt = iso(phase.endMs);
    else body.trainingErrorDetails = iteration.errorDetails ?? 'Not enough images for tag.';
  }
  return body;
}

/** The iteration methods of the simulator. */
export interface CustomVisionIterationMethods {
  addIteration(projectId: string, iterationId: string, timeline: IterationTimeline): void;
  removeIteration(projectId: string, iterationId: string): void;
}

export function createCustomVisionIterationApi(): SimulatedApi<CustomVisionIterationMethods> {
  const adapter = customVisionIterationAdapter;
  return createRunApi<IterationTimeline, CustomVisionIterationMethods>({
    adapter,
    route: ROUTE,
    caseInsensitive: true,
    rateLimitedBody: gatewayRateLimitedBody,
    answer: ({ method, url, nowMs }: SimulatedRequest, store): Answer => {
      const m = ROUTE.exec(url.pathname);
      if (!m || !adapter.apiVersions.includes(m[1] ?? '')) {
        return json(404, { error: { code: '404', message: 'Resource not found' } });
      }
      if (method !== 'GET')
        return json(405, { code: 'BadRequest', message: 'Method not allowed.' }, { allow: 'GET' });
      const projectId = (decodeSegment(m[2] ?? '') ?? '').toLowerCase();
      const iterationId = (decodeSegment(m[3] ?? '') ?? '').toLowerCase();
      const projectExists = store
        .entries()
        .some(
          ([identity, run]) =>
            identity.projectId?.toLowerCase() === projectId && runPhase(run, nowMs).phase !== 'absent',
        );
      if (!projectExists) return json(404, { code: 'NotFoundProject', message: 'Invalid project' });
      const iteration = store.get({ projectId, iterationId });
      if (!iteration || runPhase(iteration, nowMs).phase === 'absent') {
        return json(404, { code: 'NotFoundIteration', message: 'Invalid iteration' });
      }
      // Indented with CRLF, as the recorded answers.
      const text = JSON.stringify(iterationBody(projectId, iterationId, iteration, nowMs), null, 2).replace(
        /\n/g,
        '\r\n',
      );
      return json(200, text);
    },
    sampleIdentity: (seed) => ({ projectId: SAMPLE_PROJECT, iterationId: guidFromSeed(seed) }),
    // New for 10 s, trains for 70 s, then Completed.
    demo: {
      identity: { projectId: SAMPLE_PROJECT, iterationId: 'a1608486-2795-499a-bf16-e9a3075e5388' },
      waitMs: 10 * SECOND_MS,
      runMs: 70 * SECOND_MS,
    },
    errors: CUSTOM_VISION_ITERATION_ERRORS,
    extend: (store) => ({
      addIteration: (projectId, iterationId, timeline) => store.add({ projectId, iterationId }, timeline),
      removeIteration: (projectId, iterationId) => store.remove({ projectId, iterationId }),
    }),
  });
}
