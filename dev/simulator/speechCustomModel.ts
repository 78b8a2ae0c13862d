/**
 * The simulated Speech to text – Models, Get Custom Model API (2024-11-15 with `api-version`, v3.2 in the path) for
 * `speech.customModel`: the CustomModel body of the spec's examples with PascalCase statuses, a `Retry-After` on
 * the 200 while the model is not done, and the top-level `{"code","message","innerError"}` error shape.
 */
import { speechCustomModelAdapter } from '../../shared/upstream/kinds/speechCustomModel';
import { GATEWAY_QUOTA_EXCEEDED, GATEWAY_UNAUTHORIZED, gatewayRateLimitedBody } from './gateway';
import { createRunApi, guidFromSeed, runPhase } from './runJobs';
import {
  SECOND_MS,
  decodeSegment,
  isoSeconds,
  json,
  type Answer,
  type KindErrorAnswers,
  type SimulatedApi,
  type SimulatedRequest,
  type SimulatedRun,
} from './types';

const ROUTE = /^\/speechtotext\/(?:(v[^/]+)\/)?models\/([^/]+)\/?$/;
const PASCAL: Readonly<Record<SimulatedRun['outcome'], string>> = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  // The Speech status enum has no cancelled state: a cancelled build reports Failed.
  cancelled: 'Failed',
};

export interface SpeechModelTimeline extends SimulatedRun {
  /** `Retry-After` (seconds) sent with the 200 while the model is NotStarted or Running; 0 = none. Default 10. */
  retryAfterSeconds?: number;
  /** The error of a failed build; a default when absent. */
  error?: { code: string; message: string };
}

export const SPEECH_CUSTOM_MODEL_ERRORS: KindErrorAnswers = {
  unauthorized: { status: 401, body: GATEWAY_UNAUTHORIZED },
  quotaExceeded: GATEWAY_QUOTA_EXCEEDED,
  forbidden: {
    status: 403,
    body: { code: 'Forbidden', message: 'The subscription is not allowed to access custom models.' },
  },
  notFound: { status: 404, body: { code: 'NotFound', message: 'The model was not found.' } },
  conflict: {
    status: 409,
    body: {
      code: 'Conflict',
      message: 'The model is being modified by another operation, please try later.',
    },
  },
  rateLimited: { status: 429, body: gatewayRateLimitedBody(26) },
  rateLimitedHintMs: 26_000,
  serverError: {
    status: 500,
    body: { code: 'InternalServerError', message: 'An unexpected error occurred.' },
  },
};

function modelBody(
  base: string,
  id: string,
  model: SpeechModelTimeline,
  nowMs: number,
): Record<string, unknown> {
  const phase = runPhase(model, nowMs);
  const body: Record<string, unknown> = {
    self: `${base}/${id}`,
    baseModel: { self: `${base}/base/8a043172-65b7-4cf3-a8b5-4449efa5a0f1` },
    properties: {
      deprecationDates: { transcriptionDateTime: '2027-05-04T00:00:00Z' },
      features: { supportsTranscriptionsSubmit: true, supportsEndpoints: true },
    },
    displayName: 'Language model',
    description: 'A custom language model',
    locale: 'en-US',
    createdDateTime: isoSeconds(model.createdAt),
    lastActionDateTime: isoSeconds(model.createdAt),
    status: 'NotStarted',
  };
  if (phase.phase === 'running') {
    body.status = 'Running';
    body.lastActionDateTime = isoSeconds(model.startAt);
  } else if (phase.phase === 'ended') {
    body.status = PASCAL[phase.outcome];
    body.lastActionDateTime = isoSeconds(new Date(phase.endMs));
    if (body.status === 'Failed') {
      body.properties = {
        ...(body.properties as object),
        error: model.error ?? {
          code: 'InvalidData',
          message: 'The dataset does not contain any valid text.',
        },
      };
    }
  }
  return body;
}

/** The custom-model methods of the simulator. */
export interface SpeechCustomModelMethods {
  addSpeechModel(modelId: string, timeline: SpeechModelTimeline): void;
  removeSpeechModel(modelId: string): void;
}

export function createSpeechCustomModelApi(): SimulatedApi<SpeechCustomModelMethods> {
  const adapter = speechCustomModelAdapter;
  return createRunApi<SpeechModelTimeline, SpeechCustomModelMethods>({
    adapter,
    route: ROUTE,
    caseInsensitive: true,
    rateLimitedBody: gatewayRateLimitedBody,
    answer: ({ method, url, nowMs }: SimulatedRequest, store): Answer => {
      const m = ROUTE.exec(url.pathname);
      const pathVersion = m?.[1];
      const version = pathVersion ?? url.searchParams.get('api-version');
      const known = version !== null && adapter.apiVersions.includes(version);
      // v3.2 lives in the path only; the newer versions in the query only.
      if (!m || !known || (pathVersion === undefined) === (version === 'v3.2')) {
        return json(404, { code: 'NotFound', message: 'Resource not found.' });
      }
      if (method !== 'GET')
        return json(405, { code: 'InvalidRequest', message: 'Method not allowed.' }, { allow: 'GET' });
      const id = decodeSegment(m[2] ?? '');
      const model = id === undefined ? undefined : store.get({ modelId: id });
      if (id === undefined || !model || runPhase(model, nowMs).phase === 'absent') {
        return json(404, {
          code: 'NotFound',
          message: `The model with id '${id ?? m[2]}' was not found.`,
          innerError: { code: 'NotFound', message: 'Entity not found.' },
        });
      }
      const base =
        pathVersion === undefined
          ? `${url.origin}/speechtotext/models`
          : `${url.origin}/speechtotext/${pathVersion}/models`;
      const body = modelBody(base, id, model, nowMs);
      const retryAfter = model.retryAfterSeconds ?? 10;
      const done = body.status === 'Succeeded' || body.status === 'Failed';
      return json(200, body, !done && retryAfter > 0 ? { 'retry-after': String(retryAfter) } : {});
    },
    sampleIdentity: (seed) => ({ modelId: guidFromSeed(seed) }),
    // NotStarted for 15 s, builds for 80 s (Retry-After 10 on every 200 until done), then Succeeded.
    demo: {
      identity: { modelId: '827712a5-f942-4997-91c3-7c6cde35600b' },
      waitMs: 15 * SECOND_MS,
      runMs: 80 * SECOND_MS,
    },
    errors: SPEECH_CUSTOM_MODEL_ERRORS,
    extend: (store) => ({
      addSpeechModel: (modelId, timeline) => store.add({ modelId }, timeline),
      removeSpeechModel: (modelId) => store.remove({ modelId }),
    }),
  });
}
