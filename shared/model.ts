/**
 * Plain types shared by every module: jobs, normalized statuses, poll outcomes, error codes.
 * No I/O here, and no imports from other modules.
 */

/** A job id: 32 lowercase hex characters (a hash of the job's kind, endpoint and identity). */
export const JOB_ID_PATTERN = /^[0-9a-f]{32}$/;

/** A Key Vault secret name: 1-127 of `a-z A-Z 0-9 -`. */
export const SECRET_NAME_PATTERN = /^[0-9A-Za-z-]{1,127}$/;

export const JOB_STATUSES = [
  'pending',
  'notStarted',
  'running',
  'cancelling',
  'succeeded',
  'partiallyCompleted',
  'failed',
  'cancelled',
  'notFound',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Codes stored in `lastError.code` (docs/spec.md §4). */
export const POLL_ERROR_CODES = [
  'Unauthorized',
  'QuotaExceeded',
  'Forbidden',
  'NotFound',
  'Conflict',
  'RateLimited',
  'UpstreamUnavailable',
  'InvalidResponse',
  'SecretUnavailable',
] as const;
export type PollErrorCode = (typeof POLL_ERROR_CODES)[number];

export interface LastError {
  code: PollErrorCode;
  message: string;
  httpStatus?: number;
  upstreamCode?: string;
  /** ISO 8601 UTC */
  at: string;
  /** ISO 8601 UTC: when this job (or its resource) may be called again. */
  retryAt?: string;
}

/** The identity fields of a job, by name (e.g. `{ personGroupId }` or `{ projectName, jobId }`). */
export type Identity = Readonly<Record<string, string>>;

/** What a caller registers (validated). */
export interface JobRegistration {
  kind: string;
  /** Normalized origin, no trailing slash: `https://myface.cognitiveservices.azure.com` */
  endpoint: string;
  keySecretName: string;
  apiVersion: string;
  pollIntervalSeconds: number;
  displayName?: string;
  identity: Identity;
}

/** The cached status of a job (docs/spec.md §7 status object, less id and kind). */
export interface JobState {
  status: JobStatus;
  upstreamStatus: string | null;
  percentComplete?: number;
  estimatedEndDateTime?: string;
  message?: string;
  /** The parsed upstream body, validated, known fields only. */
  upstream: Record<string, unknown> | null;
  /** The upstream's own timestamp of this status (`lastActionDateTime` / `lastUpdatedDateTime`), ISO UTC. */
  upstreamUpdatedAt?: string;
  checkedAt: string | null;
  changedAt: string;
  /** null: not polled any more (terminal, or idle interval 0). */
  nextCheckAt: string | null;
  lastError: LastError | null;
  /** Failed polls in a row (drives exponential backoff); 0 after a good answer. */
  consecutiveFailures: number;
  /** What the upstream last said for the status kept here (drop-in reads, docs/spec.md §13); never in the API views. */
  lastAnswer?: UpstreamAnswer;
}

/**
 * An upstream answer as sent (docs/spec.md §13): its HTTP status, content type and body text, already redacted of the
 * request's key (`fetchUpstream`) and size-capped (`captureAnswer`).
 */
export interface UpstreamAnswer {
  httpStatus: number;
  contentType?: string;
  body: string;
  /** ISO 8601 UTC: when it was received. */
  at: string;
}

export interface Job extends JobRegistration {
  id: string;
  createdAt: string;
  state: JobState;
}

/** What the status object (docs/spec.md §7) is built from: who the job is, and the state it serves. */
export interface JobStatusRecord {
  id: string;
  kind: string;
  pollIntervalSeconds: number;
  state: Omit<JobState, 'consecutiveFailures' | 'lastAnswer'>;
}

export interface HistoryEntry {
  status: JobStatus;
  upstreamStatus: string | null;
  at: string;
  percentComplete?: number;
}

/** A status read from the upstream, normalized by an adapter. */
export interface StatusReading {
  status: JobStatus;
  upstreamStatus: string;
  percentComplete?: number;
  estimatedEndDateTime?: string;
  message?: string;
  upstream: Record<string, unknown>;
  upstreamUpdatedAt?: string;
  /** Set when the upstream string was not recognized (mapped to `running`). */
  unknownUpstreamStatus?: boolean;
  /** The upstream's own wait before the next check (Speech `Retry-After` on a 200): the next check is never sooner. */
  retryAfterMs?: number;
}

/** An upstream answer that is not a status (docs/spec.md §4), classified by an adapter. */
export interface UpstreamFailure {
  code: PollErrorCode;
  message: string;
  httpStatus?: number;
  upstreamCode?: string;
  /** Explicit wait the upstream asked for (Retry-After, retry-after-ms, body hint, quota replenish time). */
  retryAfterMs?: number;
}

/** Every poll ends in exactly one of these. */
export type PollOutcome =
  | { kind: 'status'; reading: StatusReading; answer?: UpstreamAnswer }
  | { kind: 'failure'; failure: UpstreamFailure; answer?: UpstreamAnswer };

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set([
  'succeeded',
  'partiallyCompleted',
  'failed',
  'cancelled',
]);
