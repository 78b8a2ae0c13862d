/**
 * The simulated Azure OpenAI Fine-tuning jobs – Get API (2024-10-21) for `openai.fineTuning`: the FineTuningJob
 * body of the authoring spec's examples (unix-second times, `pending` → `running` → terminal), the key in
 * `api-key`, errors in `{"error":{code,message}}` with the authoring codes (`notFound`, `tooManyRequests`, ...)
 * and the "Please retry after N seconds" wording of its 429s.
 */
import { openAiFineTuningAdapter } from '../../shared/upstream/kinds/openaiFineTuning';
import { GATEWAY_UNAUTHORIZED } from './gateway';
import { createRunApi, runPhase, unixSeconds } from './runJobs';
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

const ROUTE = /^\/openai\/fine_tuning\/jobs\/([^/]+)\/?$/;

export interface FineTuningJobTimeline extends SimulatedRun {
  /** Base model; default `gpt-4o-mini-2024-07-18`. */
  model?: string;
  /** The error of a failed job; a default when absent. */
  error?: { code: string; message: string; param?: string | null };
}

function retryAfterMessage(seconds: number): string {
  return (
    'Requests to the FineTuning_Get Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate ' +
    `limit of your current OpenAI S0 pricing tier. Please retry after ${seconds} seconds. Please go here: ` +
    'https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.'
  );
}

export const OPENAI_FINE_TUNING_ERRORS: KindErrorAnswers = {
  unauthorized: { status: 401, body: GATEWAY_UNAUTHORIZED },
  quotaExceeded: {
    status: 403,
    body: {
      error: { code: 'quotaExceeded', message: 'Quota exceeded. Quota will be replenished in 1 day.' },
    },
  },
  forbidden: {
    status: 403,
    body: {
      error: { code: 'forbidden', message: 'The operation is forbidden for the current user/api key.' },
    },
  },
  notFound: {
    status: 404,
    body: {
      error: { code: 'notFound', message: "The specified fine-tuning job 'ftjob-0' could not be found." },
    },
  },
  conflict: {
    status: 409,
    body: {
      error: {
        code: 'conflict',
        message: 'The requested operation conflicts with the current resource state.',
      },
    },
  },
  rateLimited: { status: 429, body: { error: { code: 'tooManyRequests', message: retryAfterMessage(9) } } },
  rateLimitedHintMs: 9_000,
  serverError: {
    status: 500,
    body: { error: { code: 'internalFailure', message: 'Internal error. Please retry.' } },
  },
};

function jobBody(id: string, job: FineTuningJobTimeline, nowMs: number): Record<string, unknown> {
  const phase = runPhase(job, nowMs);
  const endMs = job.startAt.getTime() + job.durationMs;
  const body: Record<string, unknown> = {
    object: 'fine_tuning.job',
    id,
    model: job.model ?? 'gpt-4o-mini-2024-07-18',
    created_at: unixSeconds(job.createdAt.getTime()),
    finished_at: null,
    fine_tuned_model: null,
    status: 'pending',
    training_file: 'file-181a1cbdcdcf4677ada87f63a0928099',
    validation_file: null,
    result_files: [],
    trained_tokens: null,
    hyperparameters: { n_epochs: -1 },
  };
  if (phase.phase === 'running') {
    body.status = 'running';
    body.estimated_finish = unixSeconds(endMs);
  } else if (phase.phase === 'ended') {
    body.status = phase.outcome;
    body.finished_at = unixSeconds(phase.endMs);
    if (phase.outcome === 'succeeded') {
      body.fine_tuned_model = `${String(body.model)}.${id}`;
      body.result_files = ['file-4f5e6d7c8b9a4e3f2a1b0c9d8e7f6a5b'];
      body.trained_tokens = 2342;
    }
    if (phase.outcome === 'failed') {
      body.error = job.error ?? {
        code: 'invalid_training_file',
        message: 'The training file is not valid JSONL.',
        param: 'training_file',
      };
    }
  }
  return body;
}

/** The fine-tuning methods of the simulator. */
export interface OpenAiFineTuningMethods {
  addFineTuningJob(fineTuningJobId: string, timeline: FineTuningJobTimeline): void;
  removeFineTuningJob(fineTuningJobId: string): void;
}

export function createOpenAiFineTuningApi(): SimulatedApi<OpenAiFineTuningMethods> {
  const adapter = openAiFineTuningAdapter;
  return createRunApi<FineTuningJobTimeline, OpenAiFineTuningMethods>({
    adapter,
    route: ROUTE,
    rateLimitedBody: (waitSeconds) => ({ error: { code: '429', message: retryAfterMessage(waitSeconds) } }),
    answer: ({ method, url, nowMs }: SimulatedRequest, store): Answer => {
      const m = ROUTE.exec(url.pathname);
      const version = url.searchParams.get('api-version');
      if (!m || version === null || !adapter.apiVersions.includes(version)) {
        return json(404, { error: { code: '404', message: 'Resource not found' } });
      }
      if (method !== 'GET') {
        return json(
          405,
          { error: { code: 'invalidPayload', message: 'Method not allowed.' } },
          { allow: 'GET' },
        );
      }
      const id = decodeSegment(m[1] ?? '');
      const job = id === undefined ? undefined : store.get({ fineTuningJobId: id });
      if (id === undefined || !job || runPhase(job, nowMs).phase === 'absent') {
        return json(404, {
          error: {
            code: 'notFound',
            message: `The specified fine-tuning job '${id ?? m[1]}' could not be found.`,
          },
        });
      }
      return json(200, jobBody(id, job, nowMs));
    },
    sampleIdentity: (seed) => ({ fineTuningJobId: `ftjob-${seed}` }),
    // Pending for 10 s, fine-tunes for 90 s (estimated_finish set), then succeeded.
    demo: { identity: { fineTuningJobId: 'ftjob-demo' }, waitMs: 10 * SECOND_MS, runMs: 90 * SECOND_MS },
    errors: OPENAI_FINE_TUNING_ERRORS,
    extend: (store) => ({
      addFineTuningJob: (fineTuningJobId, timeline) => store.add({ fineTuningJobId }, timeline),
      removeFineTuningJob: (fineTuningJobId) => store.remove({ fineTuningJobId }),
    }),
  });
}
