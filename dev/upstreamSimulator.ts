import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A real local HTTP server that speaks the Face person-group and Language text-authoring training-status APIs
 * (docs/spec.md §2, seeds 000 and 003), for the local run (`npm start`) and the test suites. Its clock is injectable:
 * every training state, every recorded call time and the rate-limit window follow `options.now`.
 * Latency and fault hangs use real time.
 */

// ---------------------------------------------------------------------------------------------------------------
// Public types

export type CallKind = 'face' | 'language' | 'other';

export interface CallRecord {
  /** Simulator clock at arrival. */
  at: Date;
  method: string;
  /** The path as received (still percent-encoded), without the query. */
  path: string;
  query: Record<string, string>;
  kind: CallKind;
  /** The `Ocp-Apim-Subscription-Key` header as received. */
  key: string | undefined;
  /** HTTP status answered; 0 when no HTTP answer was given (injected hang or reset). */
  status: number;
}

export type FaceOutcome = 'succeeded' | 'failed';

export interface FaceTrainingRun {
  /** When training was requested; from then until `startAt` the group answers `notstarted`. Default `startAt`. */
  queuedAt?: Date;
  startAt: Date;
  durationMs: number;
  outcome: FaceOutcome;
  /** Failure message (answered only when the outcome is `failed`; a default is used when absent). */
  message?: string;
}

export interface FaceGroupTimeline {
  /** Before this the group does not exist (404 PersonGroupNotFound). */
  createdAt: Date;
  /** Runs in time order; a run may not be queued before the previous one has ended. */
  trainings: FaceTrainingRun[];
  /** How the queued state is spelled (the seed: some versions say `notstarted`). Default `notstarted`. */
  notStartedStatus?: 'notstarted' | 'notStarted' | 'nonstarted';
  /** Answer `lastActionDateTime: null`, as in the seed's example. Default false (the run's last change). */
  nullLastActionDateTime?: boolean;
}

export type LanguageOutcome = 'succeeded' | 'failed' | 'cancelled' | 'partiallyCompleted';

export interface LanguageInnerError {
  code: string;
  message: string;
  target?: string;
  details?: Record<string, string>;
  innererror?: LanguageInnerError;
}

export interface LanguageError {
  code: string;
  message: string;
  target?: string;
  details?: LanguageError[];
  innererror?: LanguageInnerError;
}

export interface LanguageWarning {
  code: string;
  message: string;
}

export interface LanguageJobTimeline {
  /** Before this the job does not exist (404 NotFound). */
  createdAt: Date;
  /** notStarted from createdAt until startAt. */
  startAt: Date;
  /** Training run time: trainingStatus.percentComplete goes 0 → 100 linearly over it. */
  durationMs: number;
  outcome: LanguageOutcome;
  /** Evaluation run time after training (evaluationStatus 0 → 100); default 0. The outcome comes at its end. */
  evaluationMs?: number;
  /** From then on the job answers 404 NotFound. Default createdAt + 7 days (as in the seed's example). */
  expiresAt?: Date;
  modelLabel?: string;
  trainingConfigVersion?: string;
  /** Errors answered when the outcome is `failed` (a default error when absent). */
  errors?: LanguageError[];
  /** Warnings answered once the job has ended (default: one warning for `partiallyCompleted`, else none). */
  warnings?: LanguageWarning[];
}

export interface RateLimit {
  calls: number;
  periodMs: number;
  /** Send `Retry-After` (seconds) with the 429. Default true. */
  retryAfterHeader?: boolean;
}

export type FaultResponse =
  | { status: number; headers?: Record<string, string>; body?: string | object }
  | { hang: true }
  | { reset: true }
  | { redirectTo: string; status?: 301 | 302 | 307 | 308 };

export interface Fault {
  /** All given conditions must hold. `path` is tested against the request target (path and query, as received). */
  match?: { path?: RegExp; kind?: CallKind };
  /** How many requests this fault answers; default 1; `Infinity` allowed. */
  times?: number;
  response: FaultResponse;
}

export interface UpstreamSimulatorOptions {
  port?: number;
  host?: string;
  /** Accepted subscription keys; default `['sim-key']`. */
  keys?: string[];
  /** The simulator's clock; default real time. */
  now?: () => Date;
  /** Per server (= one simulated resource), sliding window over accepted calls, on the simulator clock. */
  rateLimit?: RateLimit;
  /** Real-time delay before each answer. */
  latencyMs?: number;
}

export interface UpstreamSimulator {
  /** e.g. `http://127.0.0.1:41234` */
  readonly origin: string;
  /** Every request received, in arrival order. */
  readonly calls: ReadonlyArray<CallRecord>;
  resetCalls(): void;
  /** The most recorded calls (matching `filter`) within any window of `periodMs` on the simulator clock. */
  maxCallsInWindow(periodMs: number, filter?: (call: CallRecord) => boolean): number;

  addFaceGroup(personGroupId: string, timeline: FaceGroupTimeline): void;
  retrainFaceGroup(personGroupId: string, run: FaceTrainingRun): void;
  removeFaceGroup(personGroupId: string): void;
  addLanguageJob(projectName: string, jobId: string, timeline: LanguageJobTimeline): void;
  removeLanguageJob(projectName: string, jobId: string): void;

  setKeys(keys: string[]): void;
  setRateLimit(rateLimit: RateLimit | undefined): void;
  setLatencyMs(latencyMs: number): void;

  /** Faults answer before the normal behaviour, first matching fault first; they skip key and rate-limit checks. */
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Faults not yet used up. */
  pendingFaults(): number;

  /** Closes the server and destroys every open connection (hung requests included). */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Ready-made error bodies

/** Every error body of the Face seed (000), verbatim. */
export const FACE_ERRORS = {
  unauthorized: {
    error: {
      code: 'Unspecified',
      message:
        'Access denied due to invalid subscription key. Make sure you are subscribed to an API you are trying to call and provide the right key.',
    },
  },
  quota403: {
    error: { statusCode: 403, message: 'Out of call volume quota. Quota will be replenished in 2.12 days.' },
  },
  personGroupNotFound: {
    error: { code: 'PersonGroupNotFound', message: "Person group 'sample_group' is not found." },
  },
  personGroupIdInvalid: {
    error: {
      code: 'PersonGroupNotFound',
      message:
        "Person group ID is invalid. Valid format should be a string composed by numbers, English letters in lower case, '-', '_', and no longer than 64 characters.",
    },
  },
  personGroupNotTrained: {
    error: { code: 'PersonGroupNotTrained', message: 'Person group not trained.' },
  },
  /** Not valid JSON, exactly as in the seed: the code is unquoted. */
  conflict409:
    '{ "error":{ "code": ConcurrentOperationConflict, "message": "There is a conflict operation on resource \'sample_group\', please try later." } }',
  rateLimited429: {
    error: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 26 seconds.' },
  },
} as const;

/** Language `ErrorResponse` bodies (seed 003), by error code. */
export const LANGUAGE_ERRORS = {
  Unauthorized: {
    error: {
      code: 'Unauthorized',
      message:
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    },
  },
  QuotaExceeded: {
    error: {
      code: 'QuotaExceeded',
      message:
        'Out of call volume quota for CustomText F0 pricing tier. Quota will be replenished in 2.12 days. To increase your call volume switch to a paid tier.',
    },
  },
  Forbidden: {
    error: {
      code: 'Forbidden',
      message: 'The requested operation is not allowed for this resource.',
      innererror: { code: 'InvalidRequest', message: 'Authoring is not supported for this resource kind.' },
    },
  },
  NotFound: {
    error: {
      code: 'NotFound',
      message: 'The requested job was not found.',
      innererror: {
        code: 'InvalidRequest',
        message: 'No training job with this id exists, or it has expired.',
      },
    },
  },
  ProjectNotFound: {
    error: { code: 'ProjectNotFound', message: 'The project could not be found.' },
  },
  InvalidRequest: {
    error: {
      code: 'InvalidRequest',
      message: 'Invalid request.',
      innererror: {
        code: 'InvalidParameterValue',
        message: 'The api-version query parameter is missing or not supported.',
      },
    },
  },
  Conflict: {
    error: {
      code: 'Conflict',
      message: 'There is a conflicting operation on this project, please try later.',
    },
  },
  TooManyRequests: {
    error: { code: 'TooManyRequests', message: 'Rate limit is exceeded. Try again in 26 seconds.' },
  },
  InternalServerError: {
    error: { code: 'InternalServerError', message: 'An unexpected error occurred.' },
  },
} as const;

/** The same bodies with their HTTP status, ready for `injectFault({ response })`. */
export const FACE_ERROR_RESPONSES = {
  unauthorized: { status: 401, body: FACE_ERRORS.unauthorized },
  quota403: { status: 403, body: FACE_ERRORS.quota403 },
  personGroupNotFound: { status: 404, body: FACE_ERRORS.personGroupNotFound },
  personGroupIdInvalid: { status: 404, body: FACE_ERRORS.personGroupIdInvalid },
  personGroupNotTrained: { status: 404, body: FACE_ERRORS.personGroupNotTrained },
  conflict409: { status: 409, body: FACE_ERRORS.conflict409 },
  rateLimited429: { status: 429, body: FACE_ERRORS.rateLimited429 },
} as const;

export const LANGUAGE_ERROR_RESPONSES = {
  Unauthorized: { status: 401, body: LANGUAGE_ERRORS.Unauthorized },
  QuotaExceeded: { status: 403, body: LANGUAGE_ERRORS.QuotaExceeded },
  Forbidden: { status: 403, body: LANGUAGE_ERRORS.Forbidden },
  NotFound: { status: 404, body: LANGUAGE_ERRORS.NotFound },
  ProjectNotFound: { status: 404, body: LANGUAGE_ERRORS.ProjectNotFound },
  InvalidRequest: { status: 400, body: LANGUAGE_ERRORS.InvalidRequest },
  Conflict: { status: 409, body: LANGUAGE_ERRORS.Conflict },
  TooManyRequests: { status: 429, body: LANGUAGE_ERRORS.TooManyRequests },
  InternalServerError: { status: 500, body: LANGUAGE_ERRORS.InternalServerError },
} as const;

export const FACE_API_VERSIONS = ['v1.0', 'v1.2'] as const;
export const LANGUAGE_API_VERSIONS = ['2022-05-01', '2023-04-01'] as const;

// ---------------------------------------------------------------------------------------------------------------
// Date formats

/** Face's non-ISO UTC format: `1/3/2017 4:11:35 AM`. */
export function formatFaceDate(d: Date): string {
  const h24 = d.getUTCHours();
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ` +
    `${h12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${h24 < 12 ? 'AM' : 'PM'}`
  );
}

/** Whole seconds, as the Language job-level dates: `2022-04-18T15:44:44Z`. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Seven fractional digits, as the Language result dates: `2022-04-18T15:45:06.8190649Z`. */
function isoTicks(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

// ---------------------------------------------------------------------------------------------------------------
// Internal model

type Answer =
  | { type: 'http'; status: number; headers: Record<string, string>; body: string }
  | { type: 'hang' }
  | { type: 'reset' };

interface StoredFault {
  fault: Fault;
  remaining: number;
}

const PERSON_GROUP_ID = /^[a-z0-9_-]{1,64}$/;
const FACE_ROUTE = /^\/face\/([^/]+)\/persongroups\/([^/]+)\/training\/?$/;
const LANGUAGE_ROUTE = /^\/language\/authoring\/analyze-text\/projects\/([^/]+)\/train\/jobs\/([^/]+)\/?$/;
const DAY_MS = 24 * 60 * 60 * 1000;

function classify(pathname: string): CallKind {
  if (pathname === '/face' || pathname.startsWith('/face/')) return 'face';
  if (pathname === '/language' || pathname.startsWith('/language/')) return 'language';
  return 'other';
}

function json(status: number, body: string | object, headers: Record<string, string> = {}): Answer {
  return {
    type: 'http',
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function validDate(d: Date, what: string): number {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new Error(`${what} is not a valid date`);
  return ms;
}

function validDuration(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`${what} must be a finite number >= 0`);
  return ms;
}

function checkRun(run: FaceTrainingRun, previousEndMs: number | undefined): void {
  const startMs = validDate(run.startAt, 'startAt');
  const queuedMs = run.queuedAt ? validDate(run.queuedAt, 'queuedAt') : startMs;
  validDuration(run.durationMs, 'durationMs');
  if (queuedMs > startMs) throw new Error('queuedAt must not be after startAt');
  if (previousEndMs !== undefined && queuedMs < previousEndMs) {
    throw new Error('a training run may not be queued before the previous run has ended');
  }
}

function runEndMs(run: FaceTrainingRun): number {
  return run.startAt.getTime() + run.durationMs;
}

function percent(fromMs: number, durationMs: number, nowMs: number): number {
  if (nowMs <= fromMs) return 0;
  if (durationMs <= 0 || nowMs >= fromMs + durationMs) return 100;
  return Math.min(100, Math.max(0, Math.floor(((nowMs - fromMs) * 100) / durationMs)));
}

// ---------------------------------------------------------------------------------------------------------------
// Face

function faceAnswer(
  groups: ReadonlyMap<string, FaceGroupTimeline>,
  version: string,
  rawGroupId: string,
  nowMs: number,
): Answer {
  if (!(FACE_API_VERSIONS as readonly string[]).includes(version)) {
    return json(404, { error: { code: '404', message: 'Resource not found' } });
  }
  const groupId = decodeSegment(rawGroupId);
  if (groupId === undefined || !PERSON_GROUP_ID.test(groupId))
    return json(404, FACE_ERRORS.personGroupIdInvalid);
  const group = groups.get(groupId);
  if (!group || nowMs < group.createdAt.getTime()) {
    return json(404, {
      error: { code: 'PersonGroupNotFound', message: `Person group '${groupId}' is not found.` },
    });
  }
  let current: FaceTrainingRun | undefined;
  for (const run of group.trainings) {
    if ((run.queuedAt ?? run.startAt).getTime() <= nowMs) current = run;
  }
  if (!current) return json(404, FACE_ERRORS.personGroupNotTrained);

  const startMs = current.startAt.getTime();
  const endMs = runEndMs(current);
  let status: string;
  let lastActionMs: number;
  let message: string | null = null;
  if (nowMs < startMs) {
    status = group.notStartedStatus ?? 'notstarted';
    lastActionMs = (current.queuedAt ?? current.startAt).getTime();
  } else if (nowMs < endMs) {
    status = 'running';
    lastActionMs = startMs;
  } else {
    status = current.outcome;
    lastActionMs = endMs;
    if (current.outcome === 'failed') {
      message = current.message ?? `There is no person or persisted face in person group '${groupId}'.`;
    }
  }
  return json(200, {
    status,
    createdDateTime: formatFaceDate(group.createdAt),
    lastActionDateTime: group.nullLastActionDateTime ? null : formatFaceDate(new Date(lastActionMs)),
    message,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Language

interface SubState {
  percentComplete: number;
  startDateTime?: string;
  endDateTime?: string;
  status: string;
}

function languageBody(jobId: string, job: LanguageJobTimeline, nowMs: number): Record<string, unknown> {
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
  jobs: ReadonlyMap<string, Map<string, LanguageJobTimeline>>,
  rawProject: string,
  rawJobId: string,
  apiVersion: string | null,
  nowMs: number,
): Answer {
  if (apiVersion === null || !(LANGUAGE_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    return json(400, {
      error: {
        code: 'InvalidRequest',
        message: 'Invalid request.',
        innererror: {
          code: 'InvalidParameterValue',
          message:
            apiVersion === null
              ? 'The api-version query parameter is required.'
              : `The api-version '${apiVersion}' is not supported. Supported versions: ${LANGUAGE_API_VERSIONS.join(', ')}.`,
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
  return json(200, languageBody(jobId, job, nowMs));
}

// ---------------------------------------------------------------------------------------------------------------
// Server

export async function startUpstreamSimulator(
  options: UpstreamSimulatorOptions = {},
): Promise<UpstreamSimulator> {
  const now = options.now ?? ((): Date => new Date());
  let keys = new Set(options.keys ?? ['sim-key']);
  let rateLimit = options.rateLimit;
  let latencyMs = options.latencyMs ?? 0;
  const faceGroups = new Map<string, FaceGroupTimeline>();
  const languageJobs = new Map<string, Map<string, LanguageJobTimeline>>();
  const calls: CallRecord[] = [];
  let faults: StoredFault[] = [];
  /** Simulator-clock times (ms) of accepted calls, oldest first. */
  let accepted: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopping: Promise<void> | undefined;

  function takeFault(target: string, kind: CallKind): FaultResponse | undefined {
    for (const stored of faults) {
      const match = stored.fault.match;
      if (match?.kind !== undefined && match.kind !== kind) continue;
      if (match?.path) {
        match.path.lastIndex = 0;
        if (!match.path.test(target)) continue;
      }
      stored.remaining -= 1;
      if (stored.remaining <= 0) faults = faults.filter((f) => f !== stored);
      return stored.fault.response;
    }
    return undefined;
  }

  function faultAnswer(response: FaultResponse): Answer {
    if ('redirectTo' in response) {
      return {
        type: 'http',
        status: response.status ?? 302,
        headers: { location: response.redirectTo },
        body: '',
      };
    }
    if ('hang' in response) return { type: 'hang' };
    if ('reset' in response) return { type: 'reset' };
    if (response.body === undefined)
      return { type: 'http', status: response.status, headers: { ...response.headers }, body: '' };
    return json(response.status, response.body, response.headers);
  }

  /** Sliding window on the simulator clock; returns the seconds to wait when the call is over the limit. */
  function overLimit(nowMs: number): number | undefined {
    if (!rateLimit) return undefined;
    const { calls: limit, periodMs } = rateLimit;
    accepted = accepted.filter((t) => t > nowMs - periodMs);
    if (accepted.length < limit) {
      accepted.push(nowMs);
      return undefined;
    }
    const oldest = accepted[accepted.length - limit] ?? nowMs;
    return Math.max(1, Math.ceil((oldest + periodMs - nowMs) / 1000));
  }

  function normalAnswer(
    kind: CallKind,
    method: string,
    url: URL,
    key: string | undefined,
    nowMs: number,
  ): Answer {
    if (kind === 'other') return json(404, { error: { code: '404', message: 'Resource not found' } });
    if (key === undefined || !keys.has(key)) {
      return json(401, kind === 'face' ? FACE_ERRORS.unauthorized : LANGUAGE_ERRORS.Unauthorized);
    }
    const waitSeconds = overLimit(nowMs);
    if (waitSeconds !== undefined) {
      const message = `Rate limit is exceeded. Try again in ${waitSeconds} seconds.`;
      const headers: Record<string, string> =
        rateLimit?.retryAfterHeader === false ? {} : { 'retry-after': String(waitSeconds) };
      return json(
        429,
        kind === 'face'
          ? { error: { statusCode: 429, message } }
          : { error: { code: 'TooManyRequests', message } },
        headers,
      );
    }
    if (kind === 'face') {
      const m = FACE_ROUTE.exec(url.pathname);
      if (!m) return json(404, { error: { code: '404', message: 'Resource not found' } });
      if (method !== 'GET')
        return json(405, { error: { code: '405', message: 'Method not allowed' } }, { allow: 'GET' });
      return faceAnswer(faceGroups, m[1] ?? '', m[2] ?? '', nowMs);
    }
    const m = LANGUAGE_ROUTE.exec(url.pathname);
    if (!m) {
      return json(404, { error: { code: 'NotFound', message: 'Resource not found.' } });
    }
    if (method !== 'GET') {
      return json(
        405,
        { error: { code: 'InvalidRequest', message: 'Method not allowed.' } },
        { allow: 'GET' },
      );
    }
    return languageAnswer(languageJobs, m[1] ?? '', m[2] ?? '', url.searchParams.get('api-version'), nowMs);
  }

  function deliver(answer: Answer, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (answer.type === 'hang') return; // the socket stays open until the client gives up or stop() destroys it
    if (res.destroyed || req.socket.destroyed) return;
    if (answer.type === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    res.writeHead(answer.status, {
      'apim-request-id': randomUUID(),
      'content-length': String(Buffer.byteLength(answer.body)),
      ...answer.headers,
    });
    res.end(answer.body);
  }

  const server = http.createServer((req, res) => {
    req.resume();
    const at = now();
    const target = req.url ?? '/';
    const url = new URL(target, 'http://simulator.invalid');
    const kind = classify(url.pathname);
    const rawKey = req.headers['ocp-apim-subscription-key'];
    const key = Array.isArray(rawKey) ? rawKey.join(', ') : rawKey;
    const method = req.method ?? 'GET';
    const fault = takeFault(target, kind);
    const answer = fault ? faultAnswer(fault) : normalAnswer(kind, method, url, key, at.getTime());
    calls.push({
      at,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      kind,
      key,
      status: answer.type === 'http' ? answer.status : 0,
    });
    if (latencyMs > 0 && answer.type !== 'hang') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        deliver(answer, req, res);
      }, latencyMs);
      timers.add(timer);
    } else {
      deliver(answer, req, res);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${hostPart}:${address.port}`;

  return {
    origin,
    calls,
    resetCalls: () => {
      calls.length = 0;
    },
    maxCallsInWindow: (periodMs, filter) => {
      const times = calls
        .filter((c) => (filter ? filter(c) : true))
        .map((c) => c.at.getTime())
        .sort((a, b) => a - b);
      let best = 0;
      let first = 0;
      for (let last = 0; last < times.length; last += 1) {
        while ((times[last] ?? 0) - (times[first] ?? 0) >= periodMs) first += 1;
        best = Math.max(best, last - first + 1);
      }
      return best;
    },
    addFaceGroup: (personGroupId, timeline) => {
      if (!PERSON_GROUP_ID.test(personGroupId)) throw new Error(`invalid personGroupId '${personGroupId}'`);
      validDate(timeline.createdAt, 'createdAt');
      let previousEnd: number | undefined;
      for (const run of timeline.trainings) {
        checkRun(run, previousEnd);
        previousEnd = runEndMs(run);
      }
      faceGroups.set(personGroupId, { ...timeline, trainings: [...timeline.trainings] });
    },
    retrainFaceGroup: (personGroupId, run) => {
      const group = faceGroups.get(personGroupId);
      if (!group) throw new Error(`unknown person group '${personGroupId}'`);
      const last = group.trainings[group.trainings.length - 1];
      checkRun(run, last ? runEndMs(last) : undefined);
      group.trainings.push(run);
    },
    removeFaceGroup: (personGroupId) => {
      faceGroups.delete(personGroupId);
    },
    addLanguageJob: (projectName, jobId, timeline) => {
      if (projectName.length === 0 || jobId.length === 0)
        throw new Error('projectName and jobId must not be empty');
      const createdMs = validDate(timeline.createdAt, 'createdAt');
      const startMs = validDate(timeline.startAt, 'startAt');
      if (timeline.expiresAt) validDate(timeline.expiresAt, 'expiresAt');
      validDuration(timeline.durationMs, 'durationMs');
      validDuration(timeline.evaluationMs ?? 0, 'evaluationMs');
      if (startMs < createdMs) throw new Error('startAt must not be before createdAt');
      let project = languageJobs.get(projectName);
      if (!project) {
        project = new Map();
        languageJobs.set(projectName, project);
      }
      project.set(jobId, { ...timeline });
    },
    removeLanguageJob: (projectName, jobId) => {
      const project = languageJobs.get(projectName);
      project?.delete(jobId);
      if (project?.size === 0) languageJobs.delete(projectName);
    },
    setKeys: (next) => {
      keys = new Set(next);
    },
    setRateLimit: (next) => {
      rateLimit = next;
      accepted = [];
    },
    setLatencyMs: (ms) => {
      latencyMs = validDuration(ms, 'latencyMs');
    },
    injectFault: (fault) => {
      const times = fault.times ?? 1;
      if (!(times >= 1)) throw new Error('times must be >= 1');
      faults.push({ fault, remaining: times });
    },
    clearFaults: () => {
      faults = [];
    },
    pendingFaults: () => faults.length,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Demo jobs for the local run

export type DemoRegistration =
  | { kind: 'face.personGroup'; personGroupId: string }
  | { kind: 'language.textAuthoring'; projectName: string; jobId: string };

/**
 * Registers a few demo training jobs that progress over the next few minutes from `now`, and returns the
 * registration bodies to POST to the service (the caller adds `endpoint` and `keySecretName`).
 */
export function addDemoJobs(
  sim: Pick<UpstreamSimulator, 'addFaceGroup' | 'addLanguageJob'>,
  now: Date,
): DemoRegistration[] {
  const at = (offsetMs: number): Date => new Date(now.getTime() + offsetMs);
  const SECOND = 1000;
  const MINUTE = 60 * SECOND;

  // Queued for 10 s, then trains for 90 s, then succeeded.
  sim.addFaceGroup('demo-faces', {
    createdAt: at(-5 * MINUTE),
    trainings: [{ queuedAt: now, startAt: at(10 * SECOND), durationMs: 90 * SECOND, outcome: 'succeeded' }],
  });
  // Trained yesterday; retrained in 2 minutes (a new run with a newer lastActionDateTime).
  sim.addFaceGroup('demo-retrain', {
    createdAt: at(-2 * DAY_MS),
    trainings: [
      { startAt: at(-DAY_MS), durationMs: 45 * SECOND, outcome: 'succeeded' },
      {
        queuedAt: at(2 * MINUTE),
        startAt: at(2 * MINUTE + 5 * SECOND),
        durationMs: 60 * SECOND,
        outcome: 'succeeded',
      },
    ],
  });
  // Trains from 20 s to 50 s, then fails.
  sim.addFaceGroup('demo-empty', {
    createdAt: at(-MINUTE),
    trainings: [
      {
        queuedAt: at(15 * SECOND),
        startAt: at(20 * SECOND),
        durationMs: 30 * SECOND,
        outcome: 'failed',
        message: "There is no person or persisted face in person group 'demo-empty'.",
      },
    ],
  });
  // Running 0 → 100 % over 2 minutes, then succeeded.
  sim.addLanguageJob('LoanAgreements', 'demo-job-1', {
    createdAt: at(-2 * SECOND),
    startAt: now,
    durationMs: 2 * MINUTE,
    outcome: 'succeeded',
  });
  // Waits 15 s, trains for 60 s, then fails with an error.
  sim.addLanguageJob('LoanAgreements', 'demo-job-2', {
    createdAt: now,
    startAt: at(15 * SECOND),
    durationMs: 60 * SECOND,
    outcome: 'failed',
    errors: [
      {
        code: 'InvalidRequest',
        message: 'Training failed: the class "Guarantor" has no labeled documents.',
        innererror: {
          code: 'InvalidDocumentBatch',
          message: 'Each class needs at least one labeled document.',
        },
      },
    ],
  });

  return [
    { kind: 'face.personGroup', personGroupId: 'demo-faces' },
    { kind: 'face.personGroup', personGroupId: 'demo-retrain' },
    { kind: 'face.personGroup', personGroupId: 'demo-empty' },
    { kind: 'language.textAuthoring', projectName: 'LoanAgreements', jobId: 'demo-job-1' },
    { kind: 'language.textAuthoring', projectName: 'LoanAgreements', jobId: 'demo-job-2' },
  ];
}
