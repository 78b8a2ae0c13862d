import type { Edm, TableEntity } from '@azure/data-tables';
import { StatusCacheError } from '../errors';
import {
  JOB_ID_PATTERN,
  JOB_STATUSES,
  POLL_ERROR_CODES,
  type HistoryEntry,
  type Identity,
  type Job,
  type JobState,
  type JobStatusRecord,
  type JobStatus,
  type LastError,
  type PollErrorCode,
  type UpstreamAnswer,
} from '../model';
import { parseClaims } from './claims';
import { MAX_STRING_CHARS, RESOURCE_PARTITION } from './keys';
import type { ResourceState } from './types';

/* Entities: what a job, a history entry and a resource look like as Table rows, and back. */

export type EntityValue = string | Edm<'Double'>;
export type EntityProps = Record<string, EntityValue>;
export type Row = Readonly<Record<string, unknown>>;

export function double(value: number, field: string): Edm<'Double'> {
  if (!Number.isFinite(value))
    throw new StatusCacheError(`Cannot store ${field}: ${String(value)} is not a finite number`);
  return { value, type: 'Double' };
}

export function text(value: string, field: string): string {
  if (value.length > MAX_STRING_CHARS) {
    throw new StatusCacheError(
      `Cannot store ${field}: ${value.length} characters exceeds the Table limit of ${MAX_STRING_CHARS}`,
    );
  }
  return value;
}

export function jobProps(job: Job, dueKey: string): EntityProps {
  const s = job.state;
  const p: EntityProps = {
    id: job.id,
    kind: text(job.kind, 'kind'),
    endpoint: text(job.endpoint, 'endpoint'),
    keySecretName: text(job.keySecretName, 'keySecretName'),
    apiVersion: text(job.apiVersion, 'apiVersion'),
    pollIntervalSeconds: double(job.pollIntervalSeconds, 'pollIntervalSeconds'),
    identity: text(JSON.stringify(job.identity), 'identity'),
    createdAt: job.createdAt,
    status: s.status,
    changedAt: s.changedAt,
    consecutiveFailures: double(s.consecutiveFailures, 'consecutiveFailures'),
    dueKey,
  };
  if (job.displayName !== undefined) p['displayName'] = text(job.displayName, 'displayName');
  if (s.upstreamStatus !== null) p['upstreamStatus'] = text(s.upstreamStatus, 'upstreamStatus');
  if (s.percentComplete !== undefined) p['percentComplete'] = double(s.percentComplete, 'percentComplete');
  if (s.estimatedEndDateTime !== undefined)
    p['estimatedEndDateTime'] = text(s.estimatedEndDateTime, 'estimatedEndDateTime');
  if (s.message !== undefined) p['message'] = text(s.message, 'message');
  if (s.upstream !== null) p['upstream'] = text(JSON.stringify(s.upstream), 'upstream');
  if (s.upstreamUpdatedAt !== undefined)
    p['upstreamUpdatedAt'] = text(s.upstreamUpdatedAt, 'upstreamUpdatedAt');
  if (s.checkedAt !== null) p['checkedAt'] = text(s.checkedAt, 'checkedAt');
  if (s.nextCheckAt !== null) p['nextCheckAt'] = text(s.nextCheckAt, 'nextCheckAt');
  if (s.lastError !== null) p['lastError'] = text(JSON.stringify(s.lastError), 'lastError');
  if (s.lastAnswer !== undefined) Object.assign(p, answerProps(s.lastAnswer));
  return p;
}

/** The upstream's last answer (docs/spec.md §13) as four properties: the body as sent, not re-encoded. */
function answerProps(answer: UpstreamAnswer): EntityProps {
  const p: EntityProps = {
    answerStatus: double(answer.httpStatus, 'answerStatus'),
    answerBody: text(answer.body, 'answerBody'),
    answerAt: text(answer.at, 'answerAt'),
  };
  if (answer.contentType !== undefined)
    p['answerContentType'] = text(answer.contentType, 'answerContentType');
  return p;
}

function readAnswer(r: RowReader): UpstreamAnswer | undefined {
  const httpStatus = r.optionalNumber('answerStatus');
  const body = r.optionalString('answerBody');
  const at = r.optionalString('answerAt');
  if (httpStatus === undefined || body === undefined || at === undefined) return undefined;
  const contentType = r.optionalString('answerContentType');
  return { httpStatus, body, at, ...(contentType !== undefined ? { contentType } : {}) };
}

export function historyProps(entry: HistoryEntry): EntityProps {
  const p: EntityProps = { status: entry.status, at: text(entry.at, 'history.at') };
  if (entry.upstreamStatus !== null)
    p['upstreamStatus'] = text(entry.upstreamStatus, 'history.upstreamStatus');
  if (entry.percentComplete !== undefined)
    p['percentComplete'] = double(entry.percentComplete, 'history.percentComplete');
  return p;
}

export function entity(partitionKey: string, rowKey: string, props: EntityProps): TableEntity<EntityProps> {
  return { ...props, partitionKey, rowKey };
}

export class RowReader {
  constructor(
    private readonly row: Row,
    private readonly where: string,
  ) {}

  private invalid(name: string): StatusCacheError {
    return new StatusCacheError(`Stored entity ${this.where} has a missing or invalid '${name}'`);
  }

  string(name: string): string {
    const v = this.row[name];
    if (typeof v !== 'string') throw this.invalid(name);
    return v;
  }

  optionalString(name: string): string | undefined {
    const v = this.row[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw this.invalid(name);
    return v;
  }

  number(name: string): number {
    const v = this.row[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.invalid(name);
    return v;
  }

  optionalNumber(name: string): number | undefined {
    const v = this.row[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.invalid(name);
    return v;
  }

  status(name: string): JobStatus {
    const v = this.string(name);
    const status = JOB_STATUSES.find((s) => s === v);
    if (status === undefined) throw this.invalid(name);
    return status;
  }

  json<T>(name: string, guard: (value: unknown) => value is T): T | undefined {
    const raw = this.optionalString(name);
    if (raw === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw this.invalid(name);
    }
    if (!guard(parsed)) throw this.invalid(name);
    return parsed;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIdentity(value: unknown): value is Identity {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

function isPollErrorCode(value: unknown): value is PollErrorCode {
  return POLL_ERROR_CODES.some((c) => c === value);
}

function isLastError(value: unknown): value is LastError {
  if (!isRecord(value)) return false;
  const { code, message, httpStatus, upstreamCode, at, retryAt } = value;
  return (
    isPollErrorCode(code) &&
    typeof message === 'string' &&
    typeof at === 'string' &&
    (httpStatus === undefined || typeof httpStatus === 'number') &&
    (upstreamCode === undefined || typeof upstreamCode === 'string') &&
    (retryAt === undefined || typeof retryAt === 'string')
  );
}

function toLastError(value: LastError): LastError {
  const out: LastError = { code: value.code, message: value.message, at: value.at };
  if (value.httpStatus !== undefined) out.httpStatus = value.httpStatus;
  if (value.upstreamCode !== undefined) out.upstreamCode = value.upstreamCode;
  if (value.retryAt !== undefined) out.retryAt = value.retryAt;
  return out;
}

export interface JobRow {
  job: Job;
  dueKey: string | undefined;
}

export function parseJobRow(row: Row, where: string): JobRow {
  const r = new RowReader(row, where);
  const state: JobState = Object.assign(readServedState(r), {
    consecutiveFailures: r.number('consecutiveFailures'),
  });
  const lastAnswer = readAnswer(r);
  if (lastAnswer !== undefined) state.lastAnswer = lastAnswer;

  const job: Job = {
    id: readId(r, where),
    kind: r.string('kind'),
    endpoint: r.string('endpoint'),
    keySecretName: r.string('keySecretName'),
    apiVersion: r.string('apiVersion'),
    pollIntervalSeconds: r.number('pollIntervalSeconds'),
    identity: { ...(r.json('identity', isIdentity) ?? {}) },
    createdAt: r.string('createdAt'),
    state,
  };
  const displayName = r.optionalString('displayName');
  if (displayName !== undefined) job.displayName = displayName;
  const dueKey = r.optionalString('dueKey');
  return { job, dueKey: dueKey === undefined || dueKey === '' ? undefined : dueKey };
}

/**
 * The columns of a job row that the status object is built from (`$select` of a status read): a fraction of the
 * row, which also holds the upstream's answer as sent (up to 32 KiB), the identity and the key's name.
 */
export const STATUS_COLUMNS: readonly string[] = [
  'id',
  'kind',
  'pollIntervalSeconds',
  'status',
  'upstreamStatus',
  'upstream',
  'checkedAt',
  'changedAt',
  'nextCheckAt',
  'lastError',
  'percentComplete',
  'estimatedEndDateTime',
  'message',
  'upstreamUpdatedAt',
];

/** A job row read with `STATUS_COLUMNS` only. */
export function parseStatusRow(row: Row, where: string): JobStatusRecord {
  const r = new RowReader(row, where);
  return {
    id: readId(r, where),
    kind: r.string('kind'),
    pollIntervalSeconds: r.number('pollIntervalSeconds'),
    state: readServedState(r),
  };
}

function readId(r: RowReader, where: string): string {
  const id = r.string('id');
  if (!JOB_ID_PATTERN.test(id)) throw new StatusCacheError(`Stored entity ${where} has an invalid 'id'`);
  return id;
}

/** The state a job serves (its status object's fields): what both a job read and a status read parse. */
function readServedState(r: RowReader): JobStatusRecord['state'] {
  const state: JobStatusRecord['state'] = {
    status: r.status('status'),
    upstreamStatus: r.optionalString('upstreamStatus') ?? null,
    upstream: r.json('upstream', isRecord) ?? null,
    checkedAt: r.optionalString('checkedAt') ?? null,
    changedAt: r.string('changedAt'),
    nextCheckAt: r.optionalString('nextCheckAt') ?? null,
    lastError: null,
  };
  const percentComplete = r.optionalNumber('percentComplete');
  if (percentComplete !== undefined) state.percentComplete = percentComplete;
  const estimatedEndDateTime = r.optionalString('estimatedEndDateTime');
  if (estimatedEndDateTime !== undefined) state.estimatedEndDateTime = estimatedEndDateTime;
  const message = r.optionalString('message');
  if (message !== undefined) state.message = message;
  const upstreamUpdatedAt = r.optionalString('upstreamUpdatedAt');
  if (upstreamUpdatedAt !== undefined) state.upstreamUpdatedAt = upstreamUpdatedAt;
  const lastError = r.json('lastError', isLastError);
  if (lastError !== undefined) state.lastError = toLastError(lastError);
  return state;
}

export function parseHistoryRow(row: Row, where: string): HistoryEntry {
  const r = new RowReader(row, where);
  const entry: HistoryEntry = {
    status: r.status('status'),
    upstreamStatus: r.optionalString('upstreamStatus') ?? null,
    at: r.string('at'),
  };
  const percentComplete = r.optionalNumber('percentComplete');
  if (percentComplete !== undefined) entry.percentComplete = percentComplete;
  return entry;
}

export function parseResourceRow(row: Row, rowKey: string): ResourceState {
  const r = new RowReader(row, `${RESOURCE_PARTITION}/${rowKey}`);
  const state: ResourceState = { resource: r.string('resource') };
  const nextSlotAt = r.optionalString('nextSlotAt');
  if (nextSlotAt !== undefined) state.nextSlotAt = nextSlotAt;
  const pausedUntil = r.optionalString('pausedUntil');
  if (pausedUntil !== undefined) state.pausedUntil = pausedUntil;
  const pauseCode = r.optionalString('pauseCode');
  if (pauseCode !== undefined) state.pauseCode = pauseCode;
  const pauseMessage = r.optionalString('pauseMessage');
  if (pauseMessage !== undefined) state.pauseMessage = pauseMessage;
  const claims = parseClaims(row);
  if (claims.length > 0) state.claims = claims;
  const etag = r.optionalString('etag');
  if (etag !== undefined) state.etag = etag;
  return state;
}
