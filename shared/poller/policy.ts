import type { RandomSource } from '../clock';
import type { HistoryEntry, Job, JobState, LastError, PollOutcome, UpstreamFailure } from '../model';
import { TERMINAL_STATUSES } from '../model';
import type { JobAdapter } from '../upstream/types';

/** Interval and backoff policy (docs/spec.md §4, §5). Pure: time and randomness are passed in. */
export interface PolicyOptions {
  now: Date;
  random: RandomSource;
  /** Idle Face groups and notFound jobs; 0 = stop polling them. */
  idleIntervalMs: number;
  /** Where the interval of a good reading counts from (a cycle's start); defaults to `now`. */
  scheduleFrom?: Date;
}

export const MIN_POLL_INTERVAL_SECONDS = 10;
export const DEFAULT_POLL_INTERVAL_SECONDS = 60;
/** The largest due tolerance (docs/spec.md §5): 2 s. */
export const MAX_DUE_TOLERANCE_MS = 2_000;
const UNAUTHORIZED_BACKOFF_MS = 15 * 60_000;
const FORBIDDEN_BACKOFF_MS = 60 * 60_000;
const QUOTA_FALLBACK_MS = 60 * 60_000;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_CAP_MS = 15 * 60_000;
const RATE_LIMIT_BASE_MS = 10_000;
const RATE_LIMIT_CAP_MS = 10 * 60_000;

/** A pause of the whole resource, asked for by a 429 or a quota 403. */
export interface ResourcePause {
  until: Date;
  code: 'RateLimited' | 'QuotaExceeded';
  message: string;
}

export interface Transition {
  state: JobState;
  /** A history entry when the status moved (or a Face group started a new run). */
  history?: HistoryEntry;
  pause?: ResourcePause;
  /** The reading was older than what is stored and was dropped. */
  stale?: boolean;
}

/** Exponential backoff with jitter: base·2^(n-1), capped, plus up to 10 % (at most 30 s) of jitter. */
export function backoffMs(
  failures: number,
  random: RandomSource,
  baseMs = BACKOFF_BASE_MS,
  capMs = BACKOFF_CAP_MS,
): number {
  const exponent = Math.max(0, Math.min(failures - 1, 20));
  const delay = Math.min(capMs, baseMs * 2 ** exponent);
  return delay + jitterMs(delay, random);
}

function jitterMs(delayMs: number, random: RandomSource): number {
  return Math.floor(random() * Math.min(delayMs * 0.1, 30_000));
}

/**
 * How long before its `nextCheckAt` a job may be polled (docs/spec.md §5): the smaller of 2 s and a tenth of its
 * interval. A timer that fires a few milliseconds early must not push a job to the cycle after.
 */
export function dueToleranceMs(job: Pick<Job, 'pollIntervalSeconds'>): number {
  const intervalMs = Math.max(job.pollIntervalSeconds, MIN_POLL_INTERVAL_SECONDS) * 1000;
  return Math.min(MAX_DUE_TOLERANCE_MS, intervalMs / 10);
}

/** A job is due at `at` when its `nextCheckAt` falls before `at` plus its tolerance. */
export function isDueAt(job: Job, at: Date): boolean {
  const next = job.state.nextCheckAt === null ? NaN : Date.parse(job.state.nextCheckAt);
  return Number.isFinite(next) && next <= at.getTime() + dueToleranceMs(job);
}

/** The state a job moves to after one poll outcome. */
export function nextTransition(
  job: Job,
  outcome: PollOutcome,
  adapter: JobAdapter,
  options: PolicyOptions,
): Transition {
  return outcome.kind === 'status'
    ? afterReading(job, outcome.reading, adapter, options)
    : afterFailure(job, outcome.failure, adapter, options);
}

function afterReading(
  job: Job,
  reading: Extract<PollOutcome, { kind: 'status' }>['reading'],
  adapter: JobAdapter,
  { now, idleIntervalMs, scheduleFrom }: PolicyOptions,
): Transition {
  const from = scheduleFrom && scheduleFrom < now ? scheduleFrom : now;
  const old = job.state;
  const nowIso = now.toISOString();
  // docs/spec.md §3: a status never moves backwards on stale data: an older ordering timestamp, or (for kinds without
  // one, e.g. Azure OpenAI) a non-terminal reading after a terminal status, is dropped.
  const olderTimestamp =
    reading.upstreamUpdatedAt !== undefined &&
    old.upstreamUpdatedAt !== undefined &&
    reading.upstreamUpdatedAt < old.upstreamUpdatedAt;
  const leavesTerminal =
    adapter.phase(old.status) === 'terminal' && adapter.phase(reading.status) !== 'terminal';
  const hintMs = reading.retryAfterMs === undefined ? undefined : now.getTime() + reading.retryAfterMs;
  if (olderTimestamp || leavesTerminal) {
    return {
      stale: true,
      state: {
        ...old,
        checkedAt: nowIso,
        lastError: null,
        consecutiveFailures: 0,
        nextCheckAt: notSoonerThan(
          scheduleFor(old.status, job, adapter, from, idleIntervalMs, old.estimatedEndDateTime),
          hintMs,
        ),
      },
    };
  }
  const statusMoved = reading.status !== old.status || reading.upstreamStatus !== old.upstreamStatus;
  const newRun =
    !statusMoved &&
    adapter.phase(reading.status) === 'idle' &&
    reading.upstreamUpdatedAt !== undefined &&
    old.upstreamUpdatedAt !== undefined &&
    reading.upstreamUpdatedAt > old.upstreamUpdatedAt;
  const state: JobState = {
    status: reading.status,
    upstreamStatus: reading.upstreamStatus,
    upstream: reading.upstream,
    checkedAt: nowIso,
    changedAt: statusMoved || newRun ? nowIso : old.changedAt,
    nextCheckAt: notSoonerThan(
      scheduleFor(reading.status, job, adapter, from, idleIntervalMs, reading.estimatedEndDateTime),
      hintMs,
    ),
    lastError: null,
    consecutiveFailures: 0,
    ...(reading.percentComplete !== undefined ? { percentComplete: reading.percentComplete } : {}),
    ...(reading.estimatedEndDateTime !== undefined
      ? { estimatedEndDateTime: reading.estimatedEndDateTime }
      : {}),
    ...(reading.message !== undefined ? { message: reading.message } : {}),
    ...(reading.upstreamUpdatedAt !== undefined ? { upstreamUpdatedAt: reading.upstreamUpdatedAt } : {}),
  };
  return statusMoved || newRun ? { state, history: historyOf(state, nowIso) } : { state };
}

function afterFailure(
  job: Job,
  failure: UpstreamFailure,
  adapter: JobAdapter,
  options: PolicyOptions,
): Transition {
  const { now, random, idleIntervalMs } = options;
  const old = job.state;
  const failures = old.consecutiveFailures + 1;
  const at = (ms: number): Date => new Date(now.getTime() + ms);
  let retryAt: Date | undefined;
  let pause: ResourcePause | undefined;
  switch (failure.code) {
    case 'Unauthorized':
      retryAt = at(UNAUTHORIZED_BACKOFF_MS + jitterMs(UNAUTHORIZED_BACKOFF_MS, random));
      break;
    case 'Forbidden':
      retryAt = at(FORBIDDEN_BACKOFF_MS + jitterMs(FORBIDDEN_BACKOFF_MS, random));
      break;
    case 'QuotaExceeded': {
      const ms = failure.retryAfterMs ?? QUOTA_FALLBACK_MS;
      retryAt = at(ms + jitterMs(ms, random));
      pause = { until: retryAt, code: 'QuotaExceeded', message: failure.message };
      break;
    }
    case 'RateLimited': {
      const ms = failure.retryAfterMs ?? backoffMs(failures, random, RATE_LIMIT_BASE_MS, RATE_LIMIT_CAP_MS);
      retryAt = at(ms + (failure.retryAfterMs !== undefined ? jitterMs(ms, random) : 0));
      pause = { until: retryAt, code: 'RateLimited', message: failure.message };
      break;
    }
    case 'Conflict':
      retryAt = now; // due again at the next cycle
      break;
    case 'NotFound':
      break;
    default:
      retryAt = at(Math.max(backoffMs(failures, random), failure.retryAfterMs ?? 0));
  }
  const lastError: LastError = {
    code: failure.code,
    message: failure.message,
    at: now.toISOString(),
    ...(failure.httpStatus !== undefined ? { httpStatus: failure.httpStatus } : {}),
    ...(failure.upstreamCode !== undefined ? { upstreamCode: failure.upstreamCode } : {}),
    ...(retryAt !== undefined ? { retryAt: retryAt.toISOString() } : {}),
  };
  if (failure.code === 'NotFound') {
    // docs/spec.md §3: a terminal status is never replaced by notFound (jobs expire upstream).
    const keep = TERMINAL_STATUSES.has(old.status) && adapter.phase(old.status) === 'terminal';
    const status = keep ? old.status : 'notFound';
    const moved = status !== old.status;
    const nowIso = now.toISOString();
    const state: JobState = {
      ...old,
      status,
      upstreamStatus: keep ? old.upstreamStatus : (failure.upstreamCode ?? 'NotFound'),
      checkedAt: nowIso,
      changedAt: moved ? nowIso : old.changedAt,
      lastError,
      consecutiveFailures: failures,
      nextCheckAt: keep ? null : idleIntervalMs > 0 ? at(idleIntervalMs).toISOString() : null,
    };
    return moved ? { state, history: historyOf(state, nowIso) } : { state };
  }
  const state: JobState = {
    ...old,
    checkedAt: now.toISOString(),
    lastError,
    consecutiveFailures: failures,
    nextCheckAt: (retryAt ?? now).toISOString(),
  };
  return pause ? { state, pause } : { state };
}

/** When to look again at a job in `status` (null = never). */
function scheduleFor(
  status: JobState['status'],
  job: Job,
  adapter: JobAdapter,
  now: Date,
  idleIntervalMs: number,
  estimatedEnd: string | undefined,
): string | null {
  const phase = adapter.phase(status);
  if (phase === 'terminal') return null;
  if (phase === 'idle')
    return idleIntervalMs > 0 ? new Date(now.getTime() + idleIntervalMs).toISOString() : null;
  const intervalMs = Math.max(job.pollIntervalSeconds, MIN_POLL_INTERVAL_SECONDS) * 1000;
  let next = now.getTime() + intervalMs;
  // Move toward the upstream's estimate when it falls inside the interval, never sooner than the minimum.
  const estimate = estimatedEnd ? Date.parse(estimatedEnd) : NaN;
  if (Number.isFinite(estimate) && estimate < next) {
    next = Math.max(estimate, now.getTime() + MIN_POLL_INTERVAL_SECONDS * 1000);
  }
  return new Date(next).toISOString();
}

/** A scheduled check moved to `earliestMs` when it would come sooner (the upstream's own hint; never undercut). */
function notSoonerThan(nextCheckAt: string | null, earliestMs: number | undefined): string | null {
  if (nextCheckAt === null || earliestMs === undefined) return nextCheckAt;
  return Date.parse(nextCheckAt) < earliestMs ? new Date(earliestMs).toISOString() : nextCheckAt;
}

function historyOf(state: JobState, at: string): HistoryEntry {
  return {
    status: state.status,
    upstreamStatus: state.upstreamStatus,
    at,
    ...(state.percentComplete !== undefined ? { percentComplete: state.percentComplete } : {}),
  };
}
