import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { InvalidContinuationTokenError, StatusCacheError } from '../errors';
import { JOB_ID_PATTERN, type HistoryEntry, type Job, type JobState } from '../model';
import { checkTop, decodeToken, encodeToken } from './continuation';
import {
  entity,
  historyProps,
  jobProps,
  parseHistoryRow,
  parseJobRow,
  parseStatusRow,
  STATUS_COLUMNS,
  type JobRow,
} from './entities';
import { DUE_PAGE_SIZE, listDueByShard, listDueRange } from './dueIndex';
import {
  checkId,
  DUE_PREFIX,
  dueRowKey,
  HISTORY_DELETE_BATCH,
  historyPrefix,
  historyPrefixEnd,
  historyRowKey,
  JOB_PREFIX,
  JOB_PREFIX_END,
  jobRowKey,
  SHARDS,
  shardOf,
} from './keys';
import { outboxAction } from './outbox';
import { PollStateTable } from './pollStateTable';
import { RecentReads } from './recentReads';
import { opts, statusCodeOf, type Signal, type TableClientFactory } from './tableClient';
import type {
  ApplyResult,
  CycleSummary,
  JobStore,
  ListJobsOptions,
  Page,
  PollHandle,
  ResourceState,
  StatusRead,
} from './types';

export {
  createTableClientFactory,
  type TableClientFactory,
  type TableClientFactoryOptions,
} from './tableClient';

/** A continuation token that was not produced by this store for this query (forged, garbled, or reused). */
export { InvalidContinuationTokenError };

export interface TableJobStoreOptions {
  tableClient: TableClientFactory;
  /** Table names; defaults `jobs` and `pollstate`. */
  tables?: { jobs?: string; state?: string };
}

/** A status read's projection of the job row, built once (the SDK takes a mutable array). */
const STATUS_QUERY = { select: [...STATUS_COLUMNS] };
/**
 * How many jobs' last status reads are tracked (./recentReads.ts; a kept read is about 1 KB): a job read again
 * before it is polled again, as every app that watches it does, is not parsed again.
 */
export const STATUS_READS_KEPT = 4_096;

/** The job store on Table Storage (key layout: ./keys.ts). */
export class TableJobStore implements JobStore {
  private readonly jobs: TableClient;
  private readonly state: TableClient;
  private readonly pollState: PollStateTable;
  /** How the due index is read: one query over every shard, or (when that costs more) one per shard. */
  private dueQuery: 'range' | 'shards' = 'range';
  /** The last status read of jobs read again, by the row's ETag (the row is still read every time). */
  private readonly statusReads = new RecentReads<StatusRead>(STATUS_READS_KEPT);

  constructor(options: TableJobStoreOptions) {
    this.jobs = options.tableClient(options.tables?.jobs ?? 'jobs');
    this.state = options.tableClient(options.tables?.state ?? 'pollstate');
    this.pollState = new PollStateTable(this.state);
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

  async getStatus(id: string, options?: Signal): Promise<StatusRead | undefined> {
    const read = await this.readRow(id, options, STATUS_QUERY);
    if (read === undefined) {
      this.statusReads.delete(id);
      return undefined;
    }
    const { row, where } = read;
    return this.statusReads.get(id, row.etag, () => ({ job: parseStatusRow(row, where), etag: row.etag }));
  }

  async getForPoll(id: string, options?: Signal): Promise<PollHandle | undefined> {
    const row = await this.readJobRow(id, options);
    if (row === undefined) return undefined;
    const handle: PollHandle = { job: row.job, etag: row.etag };
    if (row.dueKey !== undefined) handle.dueKey = row.dueKey;
    return handle;
  }

  private async readJobRow(id: string, options?: Signal): Promise<(JobRow & { etag: string }) | undefined> {
    const read = await this.readRow(id, options);
    return read && { ...parseJobRow(read.row, read.where), etag: read.row.etag };
  }

  /** One point read of a job row (all its columns, or `queryOptions`'s); undefined when there is none. */
  private async readRow(
    id: string,
    options?: Signal,
    queryOptions?: { select: string[] },
  ): Promise<{ row: Record<string, unknown> & { etag: string }; where: string } | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined;
    const pk = shardOf(id);
    const rk = jobRowKey(id);
    try {
      const row = await this.jobs.getEntity<Record<string, unknown>>(pk, rk, {
        ...opts(options),
        ...(queryOptions ? { queryOptions } : {}),
      });
      return { row, where: `${pk}/${rk}` };
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
    if (this.dueQuery === 'range') {
      try {
        return await listDueRange(this.jobs, upper, limit, options, (pages, found) => {
          // More pages than one per shard and page of rows: the service pages at partition ranges (or slowly
          // through the partitions' other rows); per-shard queries are cheaper for this table from now on.
          if (pages > SHARDS.length + Math.ceil(found / DUE_PAGE_SIZE)) this.dueQuery = 'shards';
        });
      } catch (error) {
        if (options.abortSignal?.aborted) throw error;
        // The query over every shard failed: each shard on its own, so one bad shard does not hide the others
        // (they report what fails).
      }
    }
    return listDueByShard(this.jobs, upper, limit, options);
  }

  async applyState(
    current: PollHandle,
    next: JobState,
    history: HistoryEntry | undefined,
    options?: Signal & { event?: boolean },
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
    if (history !== undefined) {
      const historyKey = historyRowKey(id, history.at);
      actions.push(['create', entity(pk, historyKey, historyProps(history))]);
      // Its event, in the same transaction (docs/spec.md §12): stored with the transition or not at all.
      if (options?.event !== false)
        actions.push(outboxAction(job, current.job.state.status, history, historyKey));
    }

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
    this.statusReads.delete(id);
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

  listResourceStates(options?: Signal): Promise<Map<string, ResourceState>> {
    return this.pollState.listResourceStates(options);
  }

  getResourceState(resource: string, options?: Signal): Promise<ResourceState | undefined> {
    return this.pollState.getResourceState(resource, options);
  }

  saveResourceState(state: ResourceState, options?: Signal): Promise<boolean> {
    return this.pollState.saveResourceState(state, options);
  }

  saveCycleSummary(summary: CycleSummary, options?: Signal): Promise<void> {
    return this.pollState.saveCycleSummary(summary, options);
  }

  getCycleSummary(options?: Signal): Promise<CycleSummary | undefined> {
    return this.pollState.getCycleSummary(options);
  }
}
