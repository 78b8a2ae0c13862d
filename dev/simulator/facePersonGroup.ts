/** The simulated Face PersonGroup – Get Training Status API (seed 000) for `face.personGroup`. */
import { facePersonGroupAdapter } from '../../shared/upstream/kinds/facePersonGroup';
import {
  createFaceTrainingApi,
  FACE_COMMON_ERRORS,
  type FaceGroupTimeline,
  type FaceTrainingRun,
} from './faceTraining';
import { DAY_MS, MINUTE_MS, SECOND_MS, type SimulatedApi } from './types';

/** Every error body of the Face seed (000), verbatim. */
export const FACE_ERRORS = {
  ...FACE_COMMON_ERRORS,
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

/** The person-group methods of the simulator. */
export interface FacePersonGroupMethods {
  addFaceGroup(personGroupId: string, timeline: FaceGroupTimeline): void;
  retrainFaceGroup(personGroupId: string, run: FaceTrainingRun): void;
  removeFaceGroup(personGroupId: string): void;
}

/** The three person-group demos: success after a queue, a retrain of a trained group, a failure. */
function addDemoGroups(store: { add(id: string, timeline: FaceGroupTimeline): void }, now: Date): string[] {
  const at = (offsetMs: number): Date => new Date(now.getTime() + offsetMs);
  // Queued for 10 s, then trains for 90 s, then succeeded.
  store.add('demo-faces', {
    createdAt: at(-5 * MINUTE_MS),
    trainings: [
      { queuedAt: now, startAt: at(10 * SECOND_MS), durationMs: 90 * SECOND_MS, outcome: 'succeeded' },
    ],
  });
  // Trained yesterday; retrained in 2 minutes (a new run with a newer lastActionDateTime).
  store.add('demo-retrain', {
    createdAt: at(-2 * DAY_MS),
    trainings: [
      { startAt: at(-DAY_MS), durationMs: 45 * SECOND_MS, outcome: 'succeeded' },
      {
        queuedAt: at(2 * MINUTE_MS),
        startAt: at(2 * MINUTE_MS + 5 * SECOND_MS),
        durationMs: 60 * SECOND_MS,
        outcome: 'succeeded',
      },
    ],
  });
  // Trains from 20 s to 50 s, then fails.
  store.add('demo-empty', {
    createdAt: at(-MINUTE_MS),
    trainings: [
      {
        queuedAt: at(15 * SECOND_MS),
        startAt: at(20 * SECOND_MS),
        durationMs: 30 * SECOND_MS,
        outcome: 'failed',
        message: "There is no person or persisted face in person group 'demo-empty'.",
      },
    ],
  });
  return ['demo-faces', 'demo-retrain', 'demo-empty'];
}

export function createFacePersonGroupApi(): SimulatedApi<FacePersonGroupMethods> {
  return createFaceTrainingApi(
    facePersonGroupAdapter,
    {
      segment: 'persongroups',
      idField: 'personGroupId',
      label: 'Person group',
      notFoundCode: 'PersonGroupNotFound',
      notTrainedCode: 'PersonGroupNotTrained',
      lastSuccessfulTraining: false,
    },
    (store) => ({
      addFaceGroup: (personGroupId, timeline) => store.add(personGroupId, timeline),
      retrainFaceGroup: (personGroupId, run) => store.retrain(personGroupId, run),
      removeFaceGroup: (personGroupId) => store.remove(personGroupId),
    }),
    (store, now) => addDemoGroups(store, now).map((personGroupId) => ({ personGroupId })),
  );
}
