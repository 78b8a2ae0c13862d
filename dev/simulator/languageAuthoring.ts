/**
 * The Language authoring training-job API (seed 003), shared by the simulated authoring kinds (custom text,
 * conversations): the same TrainingJobState body and `ErrorResponse`, under their own path segment.
 */
import type { Identity } from '../../shared/model';
import type { JobAdapter } from '../../shared/upstream/types';
import { LANGUAGE_ERROR_RESPONSES, LANGUAGE_ERRORS, type LanguageJobTimeline } from './languageShapes';
import {
  DAY_MS,
  SECOND_MS,
  decodeSegment,
  floorToSecond,
  isoSeconds,
  isoTicks,
  json,
  percent,
  validDate,
  validDuration,
  type Answer,
  type KindErrorAnswers,
  type SimulatedApi,
  type SimulatedRequest,
} from './types';

interface SubState {
  percentComplete: number;
  startDateTime?: string;
  endDateTime?: string;
  status: string;
}

function languageBody(
  jobId: string,
  job: LanguageJobTimeline,
  nowMs: number,
  extraResult: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const createdMs = job.createdAt.getTime();
  const startMs = job.startAt.getTime();
  const trainEndMs = startMs + job.durationMs;
  const evaluationMs = job.evaluationMs ?? 0;
  const endMs = trainEndMs + evaluationMs;
  const expiresMs = job.expiresAt ? job.expiresAt.getTime() : createdMs + 7 * DAY_MS;
  const ended = nowMs >= endMs;
  const failing = job.outcome === 'failed' || job.outcome === 'cancelled';

  let status: string;
  let lastUpdatedMs: number;
  let training: SubState;
  let evaluation: SubState;
  if (nowMs < startMs) {
    status = 'notStarted';
    lastUpdatedMs = createdMs;
    training = { percentComplete: 0, status: 'notStarted' };
    evaluation = { percentComplete: 0, status: 'notStarted' };
  } else if (!ended) {
    status = 'running';
    lastUpdatedMs = Math.max(startMs, floorToSecond(nowMs));
    if (nowMs < trainEndMs) {
      training = {
        percentComplete: percent(startMs, job.durationMs, nowMs),
        startDateTime: isoTicks(job.startAt),
        status: 'running',
      };
      evaluation = { percentComplete: 0, status: 'notStarted' };
    } else {
      training = {
        percentComplete: 100,
        startDateTime: isoTicks(job.startAt),
        endDateTime: isoTicks(new Date(trainEndMs)),
        status: 'succeeded',
      };
      evaluation = {
        percentComplete: percent(trainEndMs, evaluationMs, nowMs),
        startDateTime: isoTicks(new Date(trainEndMs)),
        status: 'running',
      };
    }
  } else {
    status = job.outcome;
    lastUpdatedMs = endMs;
    // The phase running at the end carries a failed/cancelled outcome; the phases before it succeeded.
    const failsInTraining = failing && evaluationMs === 0;
    training = {
      percentComplete: 100,
      startDateTime: isoTicks(job.startAt),
      endDateTime: isoTicks(new Date(trainEndMs)),
      status: failsInTraining ? job.outcome : 'succeeded',
    };
    if (failsInTraining) {
      evaluation = { percentComplete: 0, status: job.outcome === 'cancelled' ? 'cancelled' : 'notStarted' };
    } else {
      evaluation = {
        percentComplete: 100,
        startDateTime: isoTicks(new Date(trainEndMs)),
        endDateTime: isoTicks(new Date(endMs)),
        status:
          job.outcome === 'succeeded'
            ? 'succeeded'
            : job.outcome === 'partiallyCompleted'
              ? 'failed'
              : job.outcome,
      };
    }
  }

  const body: Record<string, unknown> = {
    result: {
      modelLabel: job.modelLabel ?? 'model1',
      trainingConfigVersion: job.trainingConfigVersion ?? '2022-05-01',
      ...extraResult,
      estimatedEndDateTime: isoTicks(new Date(endMs)),
      trainingStatus: training,
      evaluationStatus: evaluation,
    },
    jobId,
    createdDateTime: isoSeconds(job.createdAt),
    lastUpdatedDateTime: isoSeconds(new Date(lastUpdatedMs)),
    expirationDateTime: isoSeconds(new Date(expiresMs)),
    status,
  };
  if (ended && job.outcome === 'failed') {
    body.errors = job.errors ?? [
      {
        code: 'InvalidRequest',
        message: 'Training failed: the project does not have enough labeled documents to train a model.',
        innererror: {
          code: 'InvalidDocumentBatch',
          message: 'Each class needs at least one labeled document.',
        },
      },
    ];
  }
  if (ended) {
    const warnings =
      job.warnings ??
      (job.outcome === 'partiallyCompleted'
        ? [
            {
              code: 'EvaluationFailed',
              message: 'The model was trained but its evaluation did not complete.',
            },
          ]
        : []);
    if (warnings.length > 0) body.warnings = warnings;
  }
  return body;
}

function languageAnswer(
  apiVersions: readonly string[],
  extraResult: Readonly<Record<string, unknown>>,
  jobs: ReadonlyMap<string, Map<string, LanguageJobTimeline>>,
  rawProject: string,
  rawJobId: string,
  apiVersion: string | null,
  nowMs: number,
): Answer {
  if (apiVersion === null || !apiVersions.includes(apiVersion)) {
    return json(400, {
      error: {
        code: 'InvalidRequest',
        message: 'Invalid request.',
        innererror: {
          code: 'InvalidParameterValue',
          message:
            apiVersion === null
              ? 'The api-version query parameter is required.'
              : `The api-version '${apiVersion}' is not supported. Supported versions: ${apiVersions.join(', ')}.`,
        },
      },
    });
  }
  const projectName = decodeSegment(rawProject);
  const jobId = decodeSegment(rawJobId);
  const project = projectName === undefined ? undefined : jobs.get(projectName);
  const projectExists =
    project !== undefined && [...project.values()].some((job) => job.createdAt.getTime() <= nowMs);
  if (!projectExists) {
    return json(404, {
      error: {
        code: 'ProjectNotFound',
        message: `The project ${projectName ?? rawProject} could not be found.`,
      },
    });
  }
  const job = jobId === undefined ? undefined : project.get(jobId);
  const expired =
    job !== undefined && nowMs >= (job.expiresAt?.getTime() ?? job.createdAt.getTime() + 7 * DAY_MS);
  if (jobId === undefined || !job || nowMs < job.createdAt.getTime() || expired) {
    return json(404, {
      error: {
        code: 'NotFound',
        message: `The training job ${jobId ?? rawJobId} was not found.`,
        innererror: {
          code: 'InvalidRequest',
          message: expired ? 'The job has expired.' : 'No training job with this id exists in the project.',
        },
      },
    });
  }
  return json(200, languageBody(jobId, job, nowMs, extraResult));
}

/** The authoring-job methods behind a Language API: add and remove one job by project and id. */
export interface LanguageJobStore {
  add(projectName: string, jobId: string, timeline: LanguageJobTimeline): void;
  remove(projectName: string, jobId: string): void;
}

/** What tells one Language authoring API from another in the simulator. */
export interface LanguageAuthoringNames {
  /** Path segment after `/language/authoring/`: `analyze-text`, `analyze-conversations`. */
  segment: string;
  /** Extra `result` fields the kind sends (e.g. `trainingMode` for conversations). */
  extraResult?: Readonly<Record<string, unknown>>;
  /** The project of the generated and demo jobs. */
  sampleProject: string;
}

/** A simulated Language authoring API. `extend` builds the kind's own methods over the store. */
export function createLanguageAuthoringApi<Extension extends object>(
  adapter: JobAdapter,
  names: LanguageAuthoringNames,
  extend: (store: LanguageJobStore) => Extension,
  demo?: (store: LanguageJobStore, now: Date) => Identity[],
): SimulatedApi<Extension> {
  const jobs = new Map<string, Map<string, LanguageJobTimeline>>();
  const route = new RegExp(`^/language/authoring/${names.segment}/projects/([^/]+)/train/jobs/([^/]+)/?$`);
  const extraResult = names.extraResult ?? {};

  const store: LanguageJobStore = {
    add: (projectName, jobId, timeline) => {
      if (projectName.length === 0 || jobId.length === 0)
        throw new Error('projectName and jobId must not be empty');
      const createdMs = validDate(timeline.createdAt, 'createdAt');
      const startMs = validDate(timeline.startAt, 'startAt');
      if (timeline.expiresAt) validDate(timeline.expiresAt, 'expiresAt');
      validDuration(timeline.durationMs, 'durationMs');
      validDuration(timeline.evaluationMs ?? 0, 'evaluationMs');
      if (startMs < createdMs) throw new Error('startAt must not be before createdAt');
      let project = jobs.get(projectName);
      if (!project) {
        project = new Map();
        jobs.set(projectName, project);
      }
      project.set(jobId, { ...timeline });
    },
    remove: (projectName, jobId) => {
      const project = jobs.get(projectName);
      project?.delete(jobId);
      if (project?.size === 0) jobs.delete(projectName);
    },
  };

  const errors: KindErrorAnswers = {
    unauthorized: LANGUAGE_ERROR_RESPONSES.Unauthorized,
    quotaExceeded: LANGUAGE_ERROR_RESPONSES.QuotaExceeded,
    forbidden: LANGUAGE_ERROR_RESPONSES.Forbidden,
    notFound: LANGUAGE_ERROR_RESPONSES.NotFound,
    conflict: LANGUAGE_ERROR_RESPONSES.Conflict,
    rateLimited: LANGUAGE_ERROR_RESPONSES.TooManyRequests,
    rateLimitedHintMs: 26_000,
    serverError: LANGUAGE_ERROR_RESPONSES.InternalServerError,
  };

  return {
    adapter,
    owns: (pathname) => route.test(pathname),
    unauthorizedBody: () => LANGUAGE_ERRORS.Unauthorized,
    rateLimitedBody: (waitSeconds) => ({
      error: {
        code: 'TooManyRequests',
        message: `Rate limit is exceeded. Try again in ${waitSeconds} seconds.`,
      },
    }),
    answer: ({ method, url, nowMs }: SimulatedRequest): Answer => {
      const m = route.exec(url.pathname);
      if (!m) return json(404, { error: { code: 'NotFound', message: 'Resource not found.' } });
      if (method !== 'GET') {
        return json(
          405,
          { error: { code: 'InvalidRequest', message: 'Method not allowed.' } },
          { allow: 'GET' },
        );
      }
      const apiVersion = url.searchParams.get('api-version');
      return languageAnswer(
        adapter.apiVersions,
        extraResult,
        jobs,
        m[1] ?? '',
        m[2] ?? '',
        apiVersion,
        nowMs,
      );
    },
    addJob: (identity, run) =>
      store.add(identity.projectName ?? '', identity.jobId ?? '', {
        createdAt: run.createdAt,
        startAt: run.startAt,
        durationMs: run.durationMs,
        outcome: run.outcome,
      }),
    removeJob: (identity) => store.remove(identity.projectName ?? '', identity.jobId ?? ''),
    sampleIdentity: (seed) => ({ projectName: names.sampleProject, jobId: seed }),
    addDemoJobs: (now) => {
      if (demo) return demo(store, now);
      // Waits 10 s, then trains 0 → 100 % over 90 s, then succeeded.
      const jobId = `demo-${names.segment}`;
      store.add(names.sampleProject, jobId, {
        createdAt: now,
        startAt: new Date(now.getTime() + 10 * SECOND_MS),
        durationMs: 90 * SECOND_MS,
        outcome: 'succeeded',
      });
      return [{ projectName: names.sampleProject, jobId }];
    },
    errors,
    extension: extend(store),
  };
}
