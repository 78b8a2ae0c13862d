/**
 * The simulated Document Intelligence Get Operation API for `documentIntelligence.modelBuild`: 2024-11-30 under
 * `/documentintelligence`, 2023-07-31 under `/formrecognizer`. As live services do, `percentCompleted` is sent
 * only once the build has succeeded.
 */
import type { Identity } from '../../shared/model';
import { documentIntelligenceModelBuildAdapter as adapter } from '../../shared/upstream/kinds/documentIntelligenceModelBuild';
import {
  SECOND_MS,
  decodeSegment,
  isoSeconds,
  json,
  sampleGuid,
  validDate,
  validDuration,
  type Answer,
  type KindErrorAnswers,
  type SimulatedApi,
  type SimulatedRequest,
  type SimulatedRun,
} from './types';

const ROUTE = /^\/(documentintelligence|formrecognizer)\/operations\/([^/]+)\/?$/;
/** The api version each path serves. */
const VERSION_OF_PATH: Readonly<Record<string, string>> = {
  documentintelligence: '2024-11-30',
  formrecognizer: '2023-07-31',
};

/** The Cognitive Services gateway's own answers (fixtures `401-gateway`, `404-gateway-resource-not-found`). */
const GATEWAY_401 = {
  error: {
    code: '401',
    message:
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
  },
};
const GATEWAY_404 = { error: { code: '404', message: 'Resource not found' } };

const OPERATION_NOT_FOUND = {
  error: {
    code: 'NotFound',
    message: 'Resource not found.',
    innererror: {
      code: 'OperationNotFound',
      message:
        'The requested operation was not found. The identifier may be invalid or the operation may have expired.',
    },
  },
};

const ERRORS: KindErrorAnswers = {
  unauthorized: { status: 401, body: GATEWAY_401 },
  quotaExceeded: {
    status: 403,
    body: {
      error: {
        code: '403',
        message:
          'Out of call volume quota for FormRecognizer F0 pricing tier. Please retry after 2 days. To increase your call volume switch to a paid tier.',
      },
    },
  },
  forbidden: {
    status: 403,
    body: {
      error: { code: 'Forbidden', message: 'The requested operation is not allowed for this resource.' },
    },
  },
  notFound: { status: 404, body: OPERATION_NOT_FOUND },
  conflict: {
    status: 409,
    body: { error: { code: 'Conflict', message: 'There is a conflicting operation on this resource.' } },
  },
  rateLimited: {
    status: 429,
    body: { error: { code: '429', message: 'Rate limit is exceeded. Try again in 2 seconds.' } },
  },
  rateLimitedHintMs: 2000,
  serverError: {
    status: 500,
    body: { error: { code: 'InternalServerError', message: 'An unexpected error occurred.' } },
  },
};

function body(operationId: string, run: SimulatedRun, version: string, path: string, nowMs: number): object {
  const startMs = run.startAt.getTime();
  const endMs = startMs + run.durationMs;
  const out: Record<string, unknown> = {
    operationId,
    createdDateTime: isoSeconds(run.createdAt),
    kind: 'documentModelBuild',
    resourceLocation: `https://simulator.invalid/${path}/documentModels/model-${operationId.slice(0, 8)}?api-version=${version}`,
  };
  if (nowMs < startMs) {
    return { ...out, status: 'notStarted', lastUpdatedDateTime: isoSeconds(run.createdAt) };
  }
  if (nowMs < endMs) {
    return { ...out, status: 'running', lastUpdatedDateTime: isoSeconds(run.startAt) };
  }
  const ended = { ...out, lastUpdatedDateTime: isoSeconds(new Date(endMs)) };
  if (run.outcome === 'succeeded') return { ...ended, status: 'succeeded', percentCompleted: 100 };
  if (run.outcome === 'cancelled') return { ...ended, status: 'canceled' };
  return {
    ...ended,
    status: 'failed',
    error: {
      code: 'InvalidRequest',
      message: 'Invalid request.',
      innererror: { code: 'TrainingContentMissing', message: 'Training data is missing.' },
    },
  };
}

export function createDocumentIntelligenceModelBuildApi(): SimulatedApi {
  const operations = new Map<string, SimulatedRun>();
  const idOf = (identity: Identity): string => identity.operationId ?? '';

  function add(operationId: string, run: SimulatedRun): void {
    if (operationId === '') throw new Error('operationId must not be empty');
    const createdMs = validDate(run.createdAt, 'createdAt');
    if (validDate(run.startAt, 'startAt') < createdMs)
      throw new Error('startAt must not be before createdAt');
    validDuration(run.durationMs, 'durationMs');
    operations.set(operationId, { ...run });
  }

  return {
    adapter,
    owns: (pathname) => ROUTE.test(pathname),
    unauthorizedBody: () => GATEWAY_401,
    rateLimitedBody: (waitSeconds) => ({
      error: { code: '429', message: `Rate limit is exceeded. Try again in ${waitSeconds} seconds.` },
    }),
    answer: ({ method, url, nowMs }: SimulatedRequest): Answer => {
      const m = ROUTE.exec(url.pathname);
      const path = m?.[1] ?? '';
      const version = url.searchParams.get('api-version');
      if (!m || version !== VERSION_OF_PATH[path]) return json(404, GATEWAY_404);
      if (method !== 'GET') {
        return json(
          405,
          { error: { code: 'MethodNotAllowed', message: 'Method not allowed.' } },
          { allow: 'GET' },
        );
      }
      const operationId = decodeSegment(m[2] ?? '');
      const run = operationId === undefined ? undefined : operations.get(operationId);
      if (operationId === undefined || !run || nowMs < run.createdAt.getTime())
        return json(404, OPERATION_NOT_FOUND);
      // The service asks pollers to wait between reads of a running operation.
      const headers: Record<string, string> =
        nowMs < run.startAt.getTime() + run.durationMs ? { 'retry-after': '2' } : {};
      return json(200, body(operationId, run, version, path, nowMs), headers);
    },
    addJob: (identity, run) => add(idOf(identity), run),
    removeJob: (identity) => {
      operations.delete(idOf(identity));
    },
    sampleIdentity: (seed) => ({ operationId: `31533879936_${sampleGuid(seed)}` }),
    addDemoJobs: (now) => {
      // Waits 10 s, builds for 60 s, then succeeded.
      const operationId = '31533879936_426a3e4c-c6fb-4c83-937c-a92414c371a4';
      add(operationId, {
        createdAt: now,
        startAt: new Date(now.getTime() + 10 * SECOND_MS),
        durationMs: 60 * SECOND_MS,
        outcome: 'succeeded',
      });
      return [{ operationId }];
    },
    errors: ERRORS,
    extension: {},
  };
}
