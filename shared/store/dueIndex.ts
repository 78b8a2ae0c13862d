import { odata, type TableClient } from '@azure/data-tables';
import { parseJobRow } from './entities';
import { DUE_PREFIX, SHARDS } from './keys';
import { opts } from './tableClient';
import type { PollHandle } from './types';

/*
 * Reading the due index (`due|{nextCheckAt}|{id}` rows in every shard, ./keys.ts): the rows up to `upper`, oldest
 * first, at most `limit`. One query over every shard's key range, or one query per shard.
 */

/** Rows per page of a due-index query (the service's maximum). */
export const DUE_PAGE_SIZE = 1000;

export interface DueListOptions {
  abortSignal?: AbortSignal;
  onProblem?: (problem: { where: string; error: unknown }) => void;
}

/**
 * One query over the due range of every shard (`PartitionKey` from the first shard to the last, `RowKey` in the due
 * range): one request per page, whatever the number of shards. A row that cannot be read is skipped and reported.
 * `pagesRead` is told how many pages the query took and how many due rows it found.
 */
export async function listDueRange(
  jobs: TableClient,
  upper: string,
  limit: number,
  options: DueListOptions,
  pagesRead: (pages: number, found: number) => void,
): Promise<PollHandle[]> {
  const first = `s${SHARDS.charAt(0)}`;
  const last = `s${SHARDS.charAt(SHARDS.length - 1)}`;
  const filter = odata`PartitionKey ge ${first} and PartitionKey le ${last} and RowKey ge ${DUE_PREFIX} and RowKey le ${upper}`;
  const perShard = new Map<string, PollHandle[]>();
  let pages = 0;
  let found = 0;
  for await (const page of jobs
    .listEntities<Record<string, unknown>>({ queryOptions: { filter }, ...opts(options) })
    .byPage({ maxPageSize: DUE_PAGE_SIZE })) {
    pages++;
    for (const row of page) {
      const pk = row.partitionKey ?? '?';
      const rk = row.rowKey;
      if (typeof rk !== 'string' || !rk.startsWith(DUE_PREFIX) || rk > upper) continue;
      found++;
      const shard = perShard.get(pk) ?? [];
      perShard.set(pk, shard);
      // A shard's rows come oldest first: past `limit` of them, none can be among the oldest `limit`.
      if (shard.length >= limit) continue;
      try {
        shard.push({ job: parseJobRow(row, `${pk}/${rk}`).job, dueKey: rk });
      } catch (error) {
        options.onProblem?.({ where: `${pk}/${rk}`, error });
      }
    }
  }
  pagesRead(pages, found);
  return oldestFirst([...perShard.values()].flat(), limit);
}

/**
 * One query per shard (16), in parallel. A shard that cannot be listed is skipped and reported (its jobs wait for
 * a later cycle); throws only when no shard could be listed.
 */
export async function listDueByShard(
  jobs: TableClient,
  upper: string,
  limit: number,
  options: DueListOptions,
): Promise<PollHandle[]> {
  const problem = (where: string, error: unknown): void => options.onProblem?.({ where, error });
  const perShard = await Promise.allSettled(
    [...SHARDS].map(async (hex) => {
      const pk = `s${hex}`;
      const filter = odata`PartitionKey eq ${pk} and RowKey ge ${DUE_PREFIX} and RowKey le ${upper}`;
      const found: PollHandle[] = [];
      const pages = jobs
        .listEntities<Record<string, unknown>>({ queryOptions: { filter }, ...opts(options) })
        .byPage({ maxPageSize: Math.min(limit, DUE_PAGE_SIZE) });
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
  return oldestFirst(
    perShard.flatMap((r) => (r.status === 'fulfilled' ? r.value : [])),
    limit,
  );
}

/** `due|{ISO}|{id}` sorts by time, then id. */
function oldestFirst(handles: PollHandle[], limit: number): PollHandle[] {
  return handles
    .sort((a, b) => ((a.dueKey ?? '') < (b.dueKey ?? '') ? -1 : (a.dueKey ?? '') > (b.dueKey ?? '') ? 1 : 0))
    .slice(0, limit);
}
