/**
 * The Face training-status API (seed 000), shared by the simulated Face collection kinds: person groups, large
 * person groups and large face lists answer the same body and errors, with their own path segment and 404 codes.
 */
import { randomUUID } from 'node:crypto';
import type { Identity } from '../../shared/model';
import type { JobAdapter } from '../../shared/upstream/types';
import {
  DAY_MS,
  decodeSegment,
  formatUsDate,
  json,
  sampleFaceId,
  validDate,
  validDuration,
  type Answer,
  type KindErrorAnswers,
  type SimulatedApi,
  type SimulatedRequest,
} from './types';

export type FaceOutcome = 'succeeded' | 'failed';

export interface FaceTrainingRun {
  /** When training was requested; from then until `startAt` the collection answers `notstarted`. Default `startAt`. */
  queuedAt?: Date;
  startAt: Date;
  durationMs: number;
  outcome: FaceOutcome;
  /** Failure message (answered only when the outcome is `failed`; a default is used when absent). */
  message?: string;
}

export interface FaceGroupTimeline {
  /** Before this the collection does not exist (404 ...NotFound). */
  createdAt: Date;
  /** Runs in time order; a run may not be queued before the previous one has ended. */
  trainings: FaceTrainingRun[];
  /** How the queued state is spelled (the seed: some versions say `notstarted`). Default `notstarted`. */
  notStartedStatus?: 'notstarted' | 'notStarted' | 'nonstarted';
  /** Answer `lastActionDateTime: null`, as in the seed's example. Default false (the run's last change). */
  nullLastActionDateTime?: boolean;
  /** How long a run started by `POST .../train` trains (it starts at once, succeeds). Default: the last run's. */
  trainDurationMs?: number;
}

/** The long-running-operation record of a v1.2 train request (`GET /face/v1.2/operations/{operationId}`). */
interface TrainOperation {
  id: string;
  run: FaceTrainingRun;
}

/** What tells one Face collection from another in the simulator. */
export interface FaceCollectionNames {
  /** Path segment: `persongroups`, `largepersongroups`, `largefacelists`. */
  segment: string;
  /** Identity field of the adapter (`personGroupId`, ...). */
  idField: string;
  /** In messages: `Person group`, `Large person group`, `Large face list`. */
  label: string;
  notFoundCode: string;
  notTrainedCode: string;
  /** Send `lastSuccessfulTrainingDateTime` (ISO) after a successful run: large collections do, in every version. */
  lastSuccessfulTraining: boolean;
}

const FACE_ID = /^[a-z0-9_-]{1,64}$/;

/** The Face error bodies of seed 000 that do not depend on the collection, verbatim. */
export const FACE_COMMON_ERRORS = {
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
  rateLimited429: {
    error: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 26 seconds.' },
  },
} as const;

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

/** The methods behind a Face collection API: add, retrain, remove one collection by id. */
export interface FaceCollectionStore {
  add(id: string, timeline: FaceGroupTimeline): void;
  retrain(id: string, run: FaceTrainingRun): void;
  remove(id: string): void;
}

/**
 * A simulated Face collection API. `extend` builds the kind's own methods (e.g. `addFaceGroup`) over the store.
 */
export function createFaceTrainingApi<Extension extends object>(
  adapter: JobAdapter,
  names: FaceCollectionNames,
  extend: (store: FaceCollectionStore) => Extension,
  demo?: (store: FaceCollectionStore, now: Date) => Identity[],
): SimulatedApi<Extension> {
  const groups = new Map<string, FaceGroupTimeline>();
  const operations = new Map<string, TrainOperation>();
  const route = new RegExp(`^/face/([^/]+)/${names.segment}/([^/]+)/training/?$`);
  const trainRoute = new RegExp(`^/face/([^/]+)/${names.segment}/([^/]+)/train/?$`);
  const operationRoute = /^\/face\/([^/]+)\/operations\/([^/]+)\/?$/;
  /** Operations are shared by the Face collections: each API owns the ids its own train requests issued. */
  const ownsOperation = (pathname: string): boolean => {
    const m = operationRoute.exec(pathname);
    return m !== null && operations.has(decodeSegment(m[2] ?? '') ?? '');
  };
  const idInvalid = {
    error: {
      code: names.notFoundCode,
      message: `${names.label} ID is invalid. Valid format should be a string composed by numbers, English letters in lower case, '-', '_', and no longer than 64 characters.`,
    },
  };
  const notTrained = { error: { code: names.notTrainedCode, message: `${names.label} not trained.` } };

  /** The collection a request names (api version, id as sent), or the 404 the service answers instead. */
  function lookUp(
    version: string,
    rawId: string,
    nowMs: number,
  ): { id: string; group: FaceGroupTimeline } | Answer {
    if (!adapter.apiVersions.includes(version)) {
      return json(404, { error: { code: '404', message: 'Resource not found' } });
    }
    const id = decodeSegment(rawId);
    if (id === undefined || !FACE_ID.test(id)) return json(404, idInvalid);
    const group = groups.get(id);
    if (!group || nowMs < group.createdAt.getTime()) {
      return json(404, {
        error: { code: names.notFoundCode, message: `${names.label} '${id}' is not found.` },
      });
    }
    return { id, group };
  }

  function answerFor(version: string, rawId: string, nowMs: number): Answer {
    const found = lookUp(version, rawId, nowMs);
    if ('type' in found) return found;
    const { id, group } = found;
    let current: FaceTrainingRun | undefined;
    let lastSuccessMs: number | undefined;
    for (const run of group.trainings) {
      if ((run.queuedAt ?? run.startAt).getTime() <= nowMs) current = run;
      if (run.outcome === 'succeeded' && runEndMs(run) <= nowMs) lastSuccessMs = runEndMs(run);
    }
    if (!current) return json(404, notTrained);

    const startMs = current.startAt.getTime();
    const endMs = runEndMs(current);
    let status: string;
    let lastActionMs: number;
    let message: string | null = null;
    if (nowMs < startMs) {
      status = group.notStartedStatus ?? (version === 'v1.2' ? 'notStarted' : 'notstarted');
      lastActionMs = (current.queuedAt ?? current.startAt).getTime();
    } else if (nowMs < endMs) {
      status = 'running';
      lastActionMs = startMs;
    } else {
      status = current.outcome;
      lastActionMs = endMs;
      if (current.outcome === 'failed') {
        message =
          current.message ?? `There is no person or persisted face in ${names.label.toLowerCase()} '${id}'.`;
      }
    }
    const body: Record<string, unknown> = {
      status,
      createdDateTime: formatUsDate(group.createdAt),
      lastActionDateTime: group.nullLastActionDateTime ? null : formatUsDate(new Date(lastActionMs)),
      message,
    };
    if (names.lastSuccessfulTraining && lastSuccessMs !== undefined) {
      body.lastSuccessfulTrainingDateTime = new Date(lastSuccessMs).toISOString();
    }
    return json(200, body);
  }

  /**
   * `POST /face/{v}/{collection}/{id}/train` (Face REST reference, "Train Person Group" and its large siblings):
   * 202 with an empty body; from v1.2 an `operation-Location` header names the long-running operation
   * (`GET /face/v1.2/operations/{operationId}`, "Get Operation Result"). A run still queued or training is a 409.
   */
  function train(version: string, rawId: string, origin: string, nowMs: number): Answer {
    const found = lookUp(version, rawId, nowMs);
    if ('type' in found) return found;
    const { group } = found;
    const last = group.trainings[group.trainings.length - 1];
    if (last && runEndMs(last) > nowMs) {
      return json(409, {
        error: {
          code: `${names.notTrainedCode.replace(/NotTrained$/, '')}TrainingNotFinished`,
          message: `${names.label} is under training.`,
        },
      });
    }
    const run: FaceTrainingRun = {
      queuedAt: new Date(nowMs),
      startAt: new Date(nowMs),
      durationMs: group.trainDurationMs ?? last?.durationMs ?? 10_000,
      outcome: 'succeeded',
    };
    group.trainings.push(run);
    if (version === 'v1.0') return { type: 'http', status: 202, headers: {}, body: '' };
    const operation: TrainOperation = { id: randomUUID(), run };
    operations.set(operation.id, operation);
    return {
      type: 'http',
      status: 202,
      headers: { 'operation-location': `${origin}/face/${version}/operations/${operation.id}` },
      body: '',
    };
  }

  /** The OperationResult of a train request: ISO times, the v1.2 status spelling. */
  function operationAnswer(rawId: string, nowMs: number): Answer {
    const operation = operations.get(decodeSegment(rawId) ?? '');
    if (!operation) return json(404, { error: { code: 'NotFound', message: 'Operation not found.' } });
    const { run } = operation;
    const startMs = run.startAt.getTime();
    const endMs = runEndMs(run);
    const status = nowMs < startMs ? 'notStarted' : nowMs < endMs ? 'running' : run.outcome;
    const body: Record<string, unknown> = {
      operationId: operation.id,
      status,
      createdTime: (run.queuedAt ?? run.startAt).toISOString(),
      lastActionTime: new Date(Math.min(nowMs, endMs)).toISOString(),
    };
    if (nowMs >= endMs) body.finishedTime = new Date(endMs).toISOString();
    return json(200, body);
  }

  const store: FaceCollectionStore = {
    add: (id, timeline) => {
      if (!FACE_ID.test(id)) throw new Error(`invalid ${names.idField} '${id}'`);
      validDate(timeline.createdAt, 'createdAt');
      let previousEnd: number | undefined;
      for (const run of timeline.trainings) {
        checkRun(run, previousEnd);
        previousEnd = runEndMs(run);
      }
      groups.set(id, { ...timeline, trainings: [...timeline.trainings] });
    },
    retrain: (id, run) => {
      const group = groups.get(id);
      if (!group) throw new Error(`unknown ${names.label.toLowerCase()} '${id}'`);
      const last = group.trainings[group.trainings.length - 1];
      checkRun(run, last ? runEndMs(last) : undefined);
      group.trainings.push(run);
    },
    remove: (id) => {
      groups.delete(id);
    },
  };

  const idOf = (identity: Identity): string => identity[names.idField] ?? '';
  const errors: KindErrorAnswers = {
    unauthorized: { status: 401, body: FACE_COMMON_ERRORS.unauthorized },
    quotaExceeded: { status: 403, body: FACE_COMMON_ERRORS.quota403 },
    forbidden: {
      status: 403,
      body: { error: { code: 'UnsupportedFeature', message: 'Feature is not supported in this region.' } },
    },
    notFound: {
      status: 404,
      body: { error: { code: names.notFoundCode, message: `${names.label} 'sample_group' is not found.` } },
    },
    conflict: {
      status: 409,
      body: `{ "error":{ "code": ConcurrentOperationConflict, "message": "There is a conflict operation on resource 'sample_group', please try later." } }`,
    },
    rateLimited: { status: 429, body: FACE_COMMON_ERRORS.rateLimited429 },
    rateLimitedHintMs: 26_000,
    serverError: {
      status: 500,
      body: { error: { code: 'InternalServerError', message: 'Internal error.' } },
    },
  };

  return {
    adapter,
    owns: (pathname) => route.test(pathname) || trainRoute.test(pathname) || ownsOperation(pathname),
    unauthorizedBody: () => FACE_COMMON_ERRORS.unauthorized,
    rateLimitedBody: (waitSeconds) => ({
      error: { statusCode: 429, message: `Rate limit is exceeded. Try again in ${waitSeconds} seconds.` },
    }),
    answer: ({ method, url, nowMs, origin }: SimulatedRequest) => {
      const t = trainRoute.exec(url.pathname);
      if (t) {
        if (method !== 'POST')
          return json(405, { error: { code: '405', message: 'Method not allowed' } }, { allow: 'POST' });
        return train(t[1] ?? '', t[2] ?? '', origin, nowMs);
      }
      const o = operationRoute.exec(url.pathname);
      if (o) {
        if (method !== 'GET')
          return json(405, { error: { code: '405', message: 'Method not allowed' } }, { allow: 'GET' });
        return operationAnswer(o[2] ?? '', nowMs);
      }
      const m = route.exec(url.pathname);
      if (!m) return json(404, { error: { code: '404', message: 'Resource not found' } });
      if (method !== 'GET')
        return json(405, { error: { code: '405', message: 'Method not allowed' } }, { allow: 'GET' });
      return answerFor(m[1] ?? '', m[2] ?? '', nowMs);
    },
    addJob: (identity, run) =>
      store.add(idOf(identity), {
        createdAt: run.createdAt,
        trainings: [
          {
            queuedAt: run.createdAt,
            startAt: run.startAt,
            durationMs: run.durationMs,
            outcome: run.outcome === 'succeeded' ? 'succeeded' : 'failed',
          },
        ],
      }),
    removeJob: (identity) => store.remove(idOf(identity)),
    sampleIdentity: (seed) => ({ [names.idField]: sampleFaceId(seed) }),
    addDemoJobs: (now) => {
      if (demo) return demo(store, now);
      const id = `demo-${names.segment}`;
      // Queued for 10 s, then trains for 90 s, then succeeded.
      store.add(id, {
        createdAt: new Date(now.getTime() - DAY_MS),
        trainings: [
          {
            queuedAt: now,
            startAt: new Date(now.getTime() + 10_000),
            durationMs: 90_000,
            outcome: 'succeeded',
          },
        ],
      });
      return [{ [names.idField]: id }];
    },
    errors,
    extension: extend(store),
  };
}
