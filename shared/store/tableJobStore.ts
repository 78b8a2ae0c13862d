import { createHash, randomBytes } from 'node:crypto';
import {
  odata,
  TableClient,
  type Edm,
  type TableEntity,
  type TableServiceClientOptions,
  type TransactionAction,
} from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { InvalidContinuationTokenError, StatusCacheError } from '../errors';
import {
  JOB_ID_PATTERN,
  JOB_STATUSES,
  POLL_ERROR_CODES,
  type HistoryEntry,
  type Identity,
  type Job,
  type JobState,
  type JobStatus,
  type LastError,
  type PollErrorCode,
} from '../model';
import type {
  ApplyResult,
  CycleSummary,
  JobStore,
  ListJobsOptions,
  Page,
  PollHandle,
  ResourceState,
} from './types';

/*
 * Layout (cost matters: every operation below is a fixed, small number of Table calls).
 *
 * Table `jobs`, PartitionKey `s` + first hex char of the job id (16 shards). In each partition:
 *   job|{id}                         registration + latest state, and `dueKey` (RowKey of its due row, or '')
 *   due|{nextCheckAt ISO}|{id}       due index: a full copy of the job row (the poller needs no second read)
 *   hist|{id}|{reverse ms}{suffix}   one history transition; newest first within the prefix
 * One job's rows share a partition, so a state change (job row + due row move + history row) is one batch.
 *
 * Table `pollstate`: PartitionKey 'resource' (one row per upstream resource), PartitionKey 'cycle' RowKey 'last'.
 */

/** A continuation token that was not produced by this store for this query (forged, garbled, or reused). */
export { InvalidContinuationTokenError };

export type TableClientFactory = (tableName: string) => TableClient;

export interface TableJobStoreOptions {
  tableClient: TableClientFactory;
  /** Table names; defaults `jobs` and `pollstate`. */
  tables?: { jobs?: string; state?: string };
}

export type TableClientFactoryOptions = (
  { connectionString: string } | { tableServiceUri: string; credential: TokenCredential }
) & {
  /** Extra pipeline options (retry, additional policies). */
  clientOptions?: TableServiceClientOptions;
};

/**
 * Builds the `tableClient` factory from a connection string (local / Azurite) or from the table service URI and a
 * token credential (managed identity; no account keys). An `http` table endpoint (Azurite) is allowed explicitly.
 */
export function createTableClientFactory(options: TableClientFactoryOptions): TableClientFactory {
  if ('connectionString' in options) {
    const { connectionString } = options;
    const insecure = usesHttpTableEndpoint(connectionString);
    return (tableName) =>
      TableClient.fromConnectionString(connectionString, tableName, {
        ...options.clientOptions,
        ...(insecure ? { allowInsecureConnection: true } : {}),
      });
  }
  const { tableServiceUri, credential } = options;
  return (tableName) => new TableClient(tableServiceUri, tableName, credential, options.clientOptions);
}

function usesHttpTableEndpoint(connectionString: string): boolean {
  const parts = new Map<string, string>();
  for (const segment of connectionString.split(';')) {
    const eq = segment.indexOf('=');
    if (eq > 0) parts.set(segment.slice(0, eq).trim().toLowerCase(), segment.slice(eq + 1).trim());
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return true;
  const endpoint = parts.get('tableendpoint');
  if (endpoint !== undefined) return endpoint.toLowerCase().startsWith('http://');
  return parts.get('defaultendpointsprotocol')?.toLowerCase() === 'http';
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

const JOB_PREFIX = 'job|';
/** '}' is the character after '|': `RowKey lt 'job}'` closes the `job|` prefix range. */
const JOB_PREFIX_END = 'job}';
const DUE_PREFIX = 'due|';
const HIST_PREFIX = 'hist|';
const RESOURCE_PARTITION = 'resource';
const CYCLE_PARTITION = 'cycle';
const CYCLE_ROW = 'last';
const SHARDS = '0123456789abcdef';
const MAX_STRING_CHARS = 32 * 1024;
const MAX_PAGE = 100;
const HISTORY_DELETE_BATCH = 100;

function checkId(id: string): void {
  if (!JOB_ID_PATTERN.test(id))
    throw new StatusCacheError(`Invalid job id '${id.slice(0, 64)}': expected 32 lowercase hex characters`);
}

function shardOf(id: string): string {
  return `s${id.charAt(0)}`;
}

function jobRowKey(id: string): string {
  return `${JOB_PREFIX}${id}`;
}

function isoKey(value: string, field: string): string {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new StatusCacheError(`Invalid ${field} '${value}': not an ISO 8601 time`);
  return new Date(ms).toISOString();
}

function dueRowKey(nextCheckAt: string, id: string): string {
  return `${DUE_PREFIX}${isoKey(nextCheckAt, 'nextCheckAt')}|${id}`;
}

function historyPrefix(id: string): string {
  return `${HIST_PREFIX}${id}|`;
}

/** Exclusive upper bound of the `hist|{id}|` prefix range. */
function historyPrefixEnd(id: string): string {
  return `${HIST_PREFIX}${id}}`;
}

const REVERSE_TIME_BASE = 9_999_999_999_999;
let historySequence = randomBytes(3).readUIntBE(0, 3);

/**
 * `hist|{id}|{13-digit reverse ms}{6 hex: reverse process sequence}{4 hex random}`: newest first; two entries in
 * the same millisecond from one process still list newest first; the random part keeps writers apart.
 */
function historyRowKey(id: string, at: string): string {
  const parsed = Date.parse(at);
  const ms = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), REVERSE_TIME_BASE) : Date.now();
  const reverse = String(REVERSE_TIME_BASE - ms).padStart(13, '0');
  historySequence = (historySequence + 1) & 0xffffff;
  const sequence = (0xffffff - historySequence).toString(16).padStart(6, '0');
  return `${historyPrefix(id)}${reverse}${sequence}${randomBytes(2).toString('hex')}`;
}

/** RowKeys may not hold '/', '\\', '#', '?' or control characters: keep a safe set, escape the rest as `_xx`. */
function resourceRowKey(resource: string): string {
  let out = '';
  for (const byte of Buffer.from(resource, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9.:-]/.test(ch) ? ch : `_${byte.toString(16).padStart(2, '0')}`;
  }
  if (out.length === 0 || out.length > 1024)
    throw new StatusCacheError(`Invalid resource key '${resource.slice(0, 64)}'`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Serialization

type EntityValue = string | Edm<'Double'>;
type EntityProps = Record<string, EntityValue>;
type Row = Readonly<Record<string, unknown>>;

function double(value: number, field: string): Edm<'Double'> {
  if (!Number.isFinite(value))
    throw new StatusCacheError(`Cannot store ${field}: ${String(value)} is not a finite number`);
  return { value, type: 'Double' };
}

function text(value: string, field: string): string {
  if (value.length > MAX_STRING_CHARS) {
    throw new StatusCacheError(
      `Cannot store ${field}: ${value.length} characters exceeds the Table limit of ${MAX_STRING_CHARS}`,
    );
  }
  return value;
}

function jobProps(job: Job, dueKey: string): EntityProps {
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
  return p;
}

function historyProps(entry: HistoryEntry): EntityProps {
  const p: EntityProps = { status: entry.status, at: text(entry.at, 'history.at') };
  if (entry.upstreamStatus !== null)
    p['upstreamStatus'] = text(entry.upstreamStatus, 'history.upstreamStatus');
  if (entry.percentComplete !== undefined)
    p['percentComplete'] = double(entry.percentComplete, 'history.percentComplete');
  return p;
}

function entity(partitionKey: string, rowKey: string, props: EntityProps): TableEntity<EntityProps> {
  return { ...props, partitionKey, rowKey };
}

class RowReader {
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

function isRecord(value: unknown): value is Record<string, unknown> {
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

interface JobRow {
  job: Job;
  dueKey: string | undefined;
}

function parseJobRow(row: Row, where: string): JobRow {
  const r = new RowReader(row, where);
  const id = r.string('id');
  if (!JOB_ID_PATTERN.test(id)) throw new StatusCacheError(`Stored entity ${where} has an invalid 'id'`);
  const state: JobState = {
    status: r.status('status'),
    upstreamStatus: r.optionalString('upstreamStatus') ?? null,
    upstream: r.json('upstream', isRecord) ?? null,
    checkedAt: r.optionalString('checkedAt') ?? null,
    changedAt: r.string('changedAt'),
    nextCheckAt: r.optionalString('nextCheckAt') ?? null,
    lastError: null,
    consecutiveFailures: r.number('consecutiveFailures'),
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

  const job: Job = {
    id,
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

function parseHistoryRow(row: Row, where: string): HistoryEntry {
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

function parseResourceRow(row: Row, rowKey: string): ResourceState {
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
  const etag = r.optionalString('etag');
  if (etag !== undefined) state.etag = etag;
  return state;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors and continuation tokens

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const code = error.statusCode;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

const TOKEN_VERSION = 1;
const SDK_TOKEN_KEY = /^[\x20-\x7e]{1,1024}$/;

function scopeHash(scope: string): string {
  return createHash('sha256').update(scope).digest('base64url').slice(0, 16);
}

function encodeToken(scope: string, sdkToken: string | undefined): string | undefined {
  if (sdkToken === undefined || sdkToken === '') return undefined;
  return Buffer.from(JSON.stringify({ v: TOKEN_VERSION, s: scopeHash(scope), t: sdkToken }), 'utf8').toString(
    'base64url',
  );
}

/** Returns the SDK's token after checking that it is well formed and was issued for this very query. */
function decodeToken(scope: string, token: string): string {
  const invalid = (): InvalidContinuationTokenError =>
    new InvalidContinuationTokenError('The continuation token is not valid for this query');
  if (token.length === 0 || token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  let outer: unknown;
  try {
    outer = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!isRecord(outer) || outer['v'] !== TOKEN_VERSION || outer['s'] !== scopeHash(scope)) throw invalid();
  const sdkToken = outer['t'];
  if (typeof sdkToken !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(sdkToken)) throw invalid();
  let inner: unknown;
  try {
    inner = JSON.parse(Buffer.from(sdkToken, 'base64').toString('latin1'));
  } catch {
    throw invalid();
  }
  if (!isRecord(inner)) throw invalid();
  const { nextPartitionKey, nextRowKey, ...rest } = inner;
  if (Object.keys(rest).length > 0) throw invalid();
  if (typeof nextPartitionKey !== 'string' || !SDK_TOKEN_KEY.test(nextPartitionKey)) throw invalid();
  if (nextRowKey !== undefined && (typeof nextRowKey !== 'string' || !SDK_TOKEN_KEY.test(nextRowKey)))
    throw invalid();
  return sdkToken;
}

function checkTop(top: number): number {
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) {
    throw new StatusCacheError(`top must be an integer from 1 to ${MAX_PAGE}, got ${String(top)}`);
  }
  return top;
}

type Signal = { abortSignal?: AbortSignal };

function opts(options: Signal | undefined): Signal {
  return options?.abortSignal ? { abortSignal: options.abortSignal } : {};
}

// ---------------------------------------------------------------------------------------------------------------

export class TableJobStore implements JobStore {
  private readonly jobs: TableClient;
  private readonly state: TableClient;

  constructor(options: TableJobStoreOptions) {
    this.jobs = options.tableClient(options.tables?.jobs ?? 'jobs');
    this.state = options.tableClient(options.tables?.state ?? 'pollstate');
  }

  async initialize(options?: Signal): Promise<void> {
    for (const client of [this.jobs, this.state]) {
      try {
        await client.createTable(opts(options));
      } catch (error) {
        if (statusCodeOf(error) !== 409) throw error;
      }
    }
  }

  async register(job: Job, options?: Signal): Promise<{ job: Job; created: boolean }> {
    checkId(job.id);
    const pk = shardOf(job.id);
    const dueKey = job.state.nextCheckAt === null ? '' : dueRowKey(job.state.nextCheckAt, job.id);
    const props = jobProps(job, dueKey);
    const first: HistoryEntry = {
      status: job.state.status,
      upstreamStatus: job.state.upstreamStatus,
      at: job.state.changedAt,
    };
    if (job.state.percentComplete !== undefined) first.percentComplete = job.state.percentComplete;
    const actions: TransactionAction[] = [['create', entity(pk, jobRowKey(job.id), props)]];
    if (dueKey !== '') actions.push(['create', entity(pk, dueKey, props)]);
    actions.push(['create', entity(pk, historyRowKey(job.id, first.at), historyProps(first))]);
    try {
      await this.jobs.submitTransaction(actions, opts(options));
      return { job, created: true };
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
    }
    const existing = await this.get(job.id, options);
    if (existing === undefined) {
      throw new StatusCacheError(
        `Job ${job.id} could not be registered: a conflicting row exists without its job row`,
      );
    }
    return { job: existing, created: false };
  }

  async get(id: string, options?: Signal): Promise<Job | undefined> {
    return (await this.readJobRow(id, options))?.job;
  }

  async getForPoll(id: string, options?: Signal): Promise<PollHandle | undefined> {
    const row = await this.readJobRow(id, options);
    if (row === undefined) return undefined;
    const handle: PollHandle = { job: row.job, etag: row.etag };
    if (row.dueKey !== undefined) handle.dueKey = row.dueKey;
    return handle;
  }

  private async readJobRow(id: string, options?: Signal): Promise<(JobRow & { etag: string }) | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined;
    const pk = shardOf(id);
    const rk = jobRowKey(id);
    try {
      const row = await this.jobs.getEntity<Record<string, unknown>>(pk, rk, opts(options));
      return { ...parseJobRow(row, `${pk}/${rk}`), etag: row.etag };
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  async list(options: ListJobsOptions): Promise<Page<Job>> {
    const top = checkTop(options.top);
    let filter = odata`RowKey ge ${JOB_PREFIX} and RowKey lt ${JOB_PREFIX_END}`;
    if (options.status !== undefined) filter += odata` and status eq ${options.status}`;
    if (options.kind !== undefined) filter += odata` and kind eq ${options.kind}`;
    const scope = JSON.stringify(['jobs', options.status ?? null, options.kind ?? null]);
    const continuationToken =
      options.continuationToken === undefined ? undefined : decodeToken(scope, options.continuationToken);
    const pages = this.jobs
      .listEntities<Record<string, unknown>>({ queryOptions: { filter }, ...opts(options) })
      .byPage({ maxPageSize: top, ...(continuationToken ? { continuationToken } : {}) });
    const first = await pages.next();
    if (first.done === true) return { items: [] };
    const items: Job[] = [];
    for (const row of first.value) {
      // The filter already excludes other rows; this keeps a wrong row from ever reaching a caller.
      if (typeof row.rowKey !== 'string' || !row.rowKey.startsWith(JOB_PREFIX)) continue;
      items.push(parseJobRow(row, `${row.partitionKey ?? '?'}/${row.rowKey}`).job);
    }
    const next = encodeToken(scope, first.value.continuationToken);
    return next === undefined ? { items } : { items, continuationToken: next };
  }

  async listDue(
    now: Date,
    options: {
      limit: number;
      abortSignal?: AbortSignal;
      onProblem?: (problem: { where: string; error: unknown }) => void;
    },
  ): Promise<PollHandle[]> {
    const limit = Math.floor(options.limit);
    if (!(limit > 0)) return [];
    const upper = `${DUE_PREFIX}${now.toISOString()}~`;
    const problem = (where: string, error: unknown): void => options.onProblem?.({ where, error });
    const perShard = await Promise.allSettled(
      [...SHARDS].map(async (hex) => {
        const pk = `s${hex}`;
        const filter = odata`PartitionKey eq ${pk} and RowKey ge ${DUE_PREFIX} and RowKey le ${upper}`;
        const found: PollHandle[] = [];
        const pages = this.jobs
          .listEntities<Record<string, unknown>>({ queryOptions: { filter }, ...opts(options) })
          .byPage({ maxPageSize: Math.min(limit, 1000) });
        for await (const page of pages) {
          for (const row of page) {
            const rk = row.rowKey;
            if (typeof rk !== 'string' || !rk.startsWith(DUE_PREFIX)) continue;
            try {
              found.push({ job: parseJobRow(row, `${pk}/${rk}`).job, dueKey: rk });
            } catch (error) {
              // One unreadable row never hides the others.
              problem(`${pk}/${rk}`, error);
            }
          }
          if (found.length >= limit) break;
        }
        return found;
      }),
    );
    const failed = perShard.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const first = failed[0];
    if (first !== undefined && (failed.length === perShard.length || options.abortSignal?.aborted))
      throw first.reason;
    perShard.forEach((r, i) => {
      if (r.status === 'rejected') problem(`shard s${SHARDS.charAt(i)}`, r.reason);
    });
    // `due|{ISO}|{id}` sorts by time, then id.
    return perShard
      .flatMap((r) => (r.status === 'fulfilled' ? r.value : []))
      .sort((a, b) =>
        (a.dueKey ?? '') < (b.dueKey ?? '') ? -1 : (a.dueKey ?? '') > (b.dueKey ?? '') ? 1 : 0,
      )
      .slice(0, limit);
  }

  async applyState(
    current: PollHandle,
    next: JobState,
    history: HistoryEntry | undefined,
    options?: Signal,
  ): Promise<ApplyResult> {
    const id = current.job.id;
    checkId(id);
    const pk = shardOf(id);
    const job: Job = { ...current.job, state: next };
    const newDueKey = next.nextCheckAt === null ? '' : dueRowKey(next.nextCheckAt, id);
    const props = jobProps(job, newDueKey);
    const oldDueKey = current.dueKey;
    const jobEntity = entity(pk, jobRowKey(id), props);
    const etag = current.etag ?? '*';

    const actions: TransactionAction[] = [];
    if (oldDueKey !== undefined && oldDueKey !== '') {
      if (oldDueKey === newDueKey) {
        // Same slot: replace in place; If-Match '*' still fails with 404 when another writer consumed the row.
        actions.push(['update', entity(pk, oldDueKey, props), 'Replace', { etag: '*' }]);
      } else {
        actions.push(['delete', { partitionKey: pk, rowKey: oldDueKey }]);
        if (newDueKey !== '') actions.push(['create', entity(pk, newDueKey, props)]);
      }
    } else if (newDueKey !== '') {
      actions.push(['create', entity(pk, newDueKey, props)]);
    }
    actions.push(['update', jobEntity, 'Replace', { etag }]);
    if (history !== undefined)
      actions.push(['create', entity(pk, historyRowKey(id, history.at), historyProps(history))]);

    try {
      if (actions.length === 1) {
        // Only the job row changes: a plain conditional update (one call, and Azurite honours If-Match here).
        await this.jobs.updateEntity(jobEntity, 'Replace', { etag, ...opts(options) });
      } else {
        await this.jobs.submitTransaction(actions, opts(options));
      }
    } catch (error) {
      const status = statusCodeOf(error);
      if (status !== 404 && status !== 409 && status !== 412) throw error;
      // A row moved or is gone (one read, failure path only): a deletion, a lost race, or our own write whose
      // response was lost and whose retry by the SDK then failed (the job row holds exactly what we wrote).
      const stored = await this.readJobRow(id, options);
      if (stored === undefined) return { applied: false, reason: 'deleted' };
      const ours = JSON.stringify(jobProps(stored.job, stored.dueKey ?? '')) === JSON.stringify(props);
      return ours ? { applied: true, job } : { applied: false, reason: 'lostRace' };
    }
    return { applied: true, job };
  }

  async listHistory(
    id: string,
    options: { top: number; continuationToken?: string; abortSignal?: AbortSignal },
  ): Promise<Page<HistoryEntry>> {
    const top = checkTop(options.top);
    const scope = JSON.stringify(['history', id]);
    const continuationToken =
      options.continuationToken === undefined ? undefined : decodeToken(scope, options.continuationToken);
    if (!JOB_ID_PATTERN.test(id)) return { items: [] };
    const pk = shardOf(id);
    const filter = odata`PartitionKey eq ${pk} and RowKey ge ${historyPrefix(id)} and RowKey lt ${historyPrefixEnd(id)}`;
    const pages = this.jobs
      .listEntities<Record<string, unknown>>({ queryOptions: { filter }, ...opts(options) })
      .byPage({ maxPageSize: top, ...(continuationToken ? { continuationToken } : {}) });
    const first = await pages.next();
    if (first.done === true) return { items: [] };
    const items = first.value.map((row) => parseHistoryRow(row, `${pk}/${row.rowKey ?? '?'}`));
    const nextToken = encodeToken(scope, first.value.continuationToken);
    return nextToken === undefined ? { items } : { items, continuationToken: nextToken };
  }

  async delete(id: string, options?: Signal): Promise<boolean> {
    const pk = shardOf(id);
    let row = await this.readJobRow(id, options);
    if (row === undefined) return false;
    for (let attempt = 1; ; attempt++) {
      try {
        if (row.dueKey === undefined) {
          await this.jobs.deleteEntity(pk, jobRowKey(id), { etag: row.etag, ...opts(options) });
        } else {
          await this.jobs.submitTransaction(
            [
              ['delete', { partitionKey: pk, rowKey: jobRowKey(id) }],
              ['delete', { partitionKey: pk, rowKey: row.dueKey }],
            ],
            opts(options),
          );
        }
        break;
      } catch (error) {
        const status = statusCodeOf(error);
        // The job moved under us (a poll applied a new state): read again and retry.
        if ((status !== 404 && status !== 412) || attempt >= 5) throw error;
      }
      row = await this.readJobRow(id, options);
      if (row === undefined) return true;
    }
    await this.deleteHistory(id, options).catch(() => undefined);
    return true;
  }

  /** Best effort: history rows of a deleted job, in batches of up to 100. */
  private async deleteHistory(id: string, options?: Signal): Promise<void> {
    const pk = shardOf(id);
    const filter = odata`PartitionKey eq ${pk} and RowKey ge ${historyPrefix(id)} and RowKey lt ${historyPrefixEnd(id)}`;
    const keys: string[] = [];
    for await (const row of this.jobs.listEntities<Record<string, unknown>>({
      queryOptions: { filter, select: ['RowKey'] },
      ...opts(options),
    })) {
      if (typeof row.rowKey === 'string') keys.push(row.rowKey);
    }
    for (let i = 0; i < keys.length; i += HISTORY_DELETE_BATCH) {
      const actions: TransactionAction[] = keys
        .slice(i, i + HISTORY_DELETE_BATCH)
        .map((rowKey): TransactionAction => ['delete', { partitionKey: pk, rowKey }]);
      await this.jobs.submitTransaction(actions, opts(options));
    }
  }

  async listResourceStates(options?: Signal): Promise<Map<string, ResourceState>> {
    const out = new Map<string, ResourceState>();
    const filter = odata`PartitionKey eq ${RESOURCE_PARTITION}`;
    for await (const row of this.state.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
      ...opts(options),
    })) {
      const state = parseResourceRow(row, row.rowKey ?? '?');
      out.set(state.resource, state);
    }
    return out;
  }

  async getResourceState(resource: string, options?: Signal): Promise<ResourceState | undefined> {
    const rowKey = resourceRowKey(resource);
    try {
      const row = await this.state.getEntity<Record<string, unknown>>(
        RESOURCE_PARTITION,
        rowKey,
        opts(options),
      );
      return parseResourceRow(row, rowKey);
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  async saveResourceState(state: ResourceState, options?: Signal): Promise<boolean> {
    const props: EntityProps = { resource: text(state.resource, 'resource') };
    if (state.nextSlotAt !== undefined) props['nextSlotAt'] = text(state.nextSlotAt, 'nextSlotAt');
    if (state.pausedUntil !== undefined) props['pausedUntil'] = text(state.pausedUntil, 'pausedUntil');
    if (state.pauseCode !== undefined) props['pauseCode'] = text(state.pauseCode, 'pauseCode');
    if (state.pauseMessage !== undefined) props['pauseMessage'] = text(state.pauseMessage, 'pauseMessage');
    const row = entity(RESOURCE_PARTITION, resourceRowKey(state.resource), props);
    try {
      if (state.etag !== undefined) {
        await this.state.updateEntity(row, 'Replace', { etag: state.etag, ...opts(options) });
      } else {
        await this.state.createEntity(row, opts(options));
      }
      return true;
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 412 || status === 409 || status === 404) return false;
      throw error;
    }
  }

  async saveCycleSummary(summary: CycleSummary, options?: Signal): Promise<void> {
    await this.state.upsertEntity(
      entity(CYCLE_PARTITION, CYCLE_ROW, {
        startedAt: summary.startedAt,
        finishedAt: summary.finishedAt,
        polled: double(summary.polled, 'polled'),
        errors: double(summary.errors, 'errors'),
        upstreamErrors: double(summary.upstreamErrors, 'upstreamErrors'),
      }),
      'Replace',
      opts(options),
    );
  }

  async getCycleSummary(options?: Signal): Promise<CycleSummary | undefined> {
    try {
      const row = await this.state.getEntity<Record<string, unknown>>(
        CYCLE_PARTITION,
        CYCLE_ROW,
        opts(options),
      );
      const r = new RowReader(row, `${CYCLE_PARTITION}/${CYCLE_ROW}`);
      return {
        startedAt: r.string('startedAt'),
        finishedAt: r.string('finishedAt'),
        polled: r.number('polled'),
        errors: r.number('errors'),
        upstreamErrors: r.optionalNumber('upstreamErrors') ?? 0, // absent in rows written before it was counted
      };
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }
}
