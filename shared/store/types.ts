import type { HistoryEntry, Job, JobState, JobStatus, JobStatusRecord } from '../model';

/**
 * A job as read for polling, with what makes its next write conditional: the key of its due-index row (the
 * optimistic lock: whoever deletes it first wins) or, for a job with no due row, the job entity's ETag.
 */
export interface PollHandle {
  job: Job;
  /** RowKey of the due-index row (present when the job is scheduled). */
  dueKey?: string;
  /** ETag of the job entity (present when read by point read). */
  etag?: string;
}

/** A status read: the job's status fields and the ETag of its row. */
export interface StatusRead {
  job: JobStatusRecord;
  etag: string;
}

export interface ListJobsOptions {
  status?: JobStatus;
  kind?: string;
  /** 1..100 */
  top: number;
  /** Opaque token from a previous page. */
  continuationToken?: string;
  abortSignal?: AbortSignal;
}

export interface Page<T> {
  items: T[];
  continuationToken?: string;
}

/** The result of applying a new state: `lost` when another writer got there first (not an error). */
export type ApplyResult = { applied: true; job: Job } | { applied: false; reason: 'lostRace' | 'deleted' };

/**
 * A claim on one due poll of a job (docs/spec.md §5): taken with its budget slot, in the resource's row, by one
 * ETag-conditional write per resource and cycle (no Table transaction of its own). It holds only while the job
 * is still due at `due` and until `until`: a holder that dies leaves a claim that expires.
 */
export interface ResourceClaim {
  jobId: string;
  /** The job's nextCheckAt (ms) when claimed: once the job is polled (or deleted), the claim is gone. */
  due: number;
  /** Expiry (ms). */
  until: number;
  /** Who holds it (a cycle, a refresh; a queue worker holds its cycle's claim). */
  token: string;
}

/** Per-resource (upstream host) poll state shared by every job of that resource. */
export interface ResourceState {
  /** `host` or `host:port`, lowercase. */
  resource: string;
  /** ISO: the earliest time the next call may be made (budget reservation). */
  nextSlotAt?: string;
  /** ISO: the resource is paused (429 / quota 403) until then. */
  pausedUntil?: string;
  pauseCode?: string;
  pauseMessage?: string;
  /** Claims in force (expired ones are dropped on every write). */
  claims?: ResourceClaim[];
  etag?: string;
}

export interface CycleSummary {
  startedAt: string;
  finishedAt: string;
  polled: number;
  /** Faults of the service itself (storage, vault, queue, unhandled errors): these make health `degraded`. */
  errors: number;
  /** Polls whose upstream answered with an error outcome (404, 429, 5xx, timeout...). */
  upstreamErrors: number;
}

/**
 * Jobs, their latest status and their history in Azure Table Storage.
 * Every status change goes through `applyState` together with the due-index move, atomically.
 */
export interface JobStore {
  /** Creates the tables if needed. Idempotent. */
  initialize(options?: { abortSignal?: AbortSignal }): Promise<void>;
  /**
   * Stores a new job (status `pending`, due now) unless one with the same id exists.
   * `created: false` returns the existing job unchanged.
   */
  register(job: Job, options?: { abortSignal?: AbortSignal }): Promise<{ job: Job; created: boolean }>;
  /** One point read. */
  get(id: string, options?: { abortSignal?: AbortSignal }): Promise<Job | undefined>;
  list(options: ListJobsOptions): Promise<Page<Job>>;
  /**
   * Jobs whose nextCheckAt <= now, oldest first, at most `limit`. Reads only the due index (key ranges).
   * A row that cannot be read, or a shard that cannot be listed, is skipped and reported to `onProblem` (its
   * jobs wait for a later cycle); it throws only when no shard could be listed.
   */
  listDue(
    now: Date,
    options: {
      limit: number;
      abortSignal?: AbortSignal;
      onProblem?: (problem: { where: string; error: unknown }) => void;
    },
  ): Promise<PollHandle[]>;
  /**
   * Replaces the job's state, moves its due-index row (`dueKey` → the new nextCheckAt, or none) and appends
   * `history` when given, in one atomic transaction conditional on `dueKey` still existing (or, when the job
   * had no due row, on the job's ETag). A lost race returns `{ applied: false }`. With `history`, the entry's
   * event goes into the outbox in the same transaction, unless `event` is false (nothing listens).
   */
  applyState(
    current: PollHandle,
    next: JobState,
    history: HistoryEntry | undefined,
    options?: { abortSignal?: AbortSignal; event?: boolean },
  ): Promise<ApplyResult>;
  /**
   * Reads what the status object needs, and the row's ETag: one point read of only those columns (not the key's
   * name, the identity or the upstream's answer as sent). The hot path of the API.
   */
  getStatus(id: string, options?: { abortSignal?: AbortSignal }): Promise<StatusRead | undefined>;
  /** Reads a job with its due key / etag, for a poll outside the cycle (refresh). */
  getForPoll(id: string, options?: { abortSignal?: AbortSignal }): Promise<PollHandle | undefined>;
  listHistory(
    id: string,
    options: { top: number; continuationToken?: string; abortSignal?: AbortSignal },
  ): Promise<Page<HistoryEntry>>;
  /** Deletes the job, its due row and its history. Returns false when it did not exist. */
  delete(id: string, options?: { abortSignal?: AbortSignal }): Promise<boolean>;

  listResourceStates(options?: { abortSignal?: AbortSignal }): Promise<Map<string, ResourceState>>;
  /** Conditional on `state.etag` when given (insert-only when absent). false = lost race (412/409). */
  saveResourceState(state: ResourceState, options?: { abortSignal?: AbortSignal }): Promise<boolean>;
  getResourceState(
    resource: string,
    options?: { abortSignal?: AbortSignal },
  ): Promise<ResourceState | undefined>;

  saveCycleSummary(summary: CycleSummary, options?: { abortSignal?: AbortSignal }): Promise<void>;
  getCycleSummary(options?: { abortSignal?: AbortSignal }): Promise<CycleSummary | undefined>;
}
