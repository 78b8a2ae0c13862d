/**
 * The Language authoring training-job API's shapes (seed 003): a job's outcome and timeline, and its
 * `ErrorResponse` bodies.
 */

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
