import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { JOB_STATUSES, type HistoryEntry, type Job, type JobStatus } from '../model';
import { entity, jobProps, parseJobRow } from './entities';
import { SHARDS, shardOf } from './keys';
import { opts, statusCodeOf, type Signal } from './tableClient';

/*
 * The transition outbox (docs/spec.md §12): every history entry is written with an outbox row in the SAME Table
 * transaction, so a stored transition always has its event and a lost race has none. The row is a copy of the
 * job as stored by that transition plus its previous status; the notifications fan-out reads the job's rows
 * oldest first, hands them on and deletes them. Rows are in the job's partition of the `jobs` table:
 *   outbox|{id}|{13-digit ms}{history suffix}   oldest first within the prefix
 */

export const OUTBOX_PREFIX = 'outbox|';

export function outboxPrefix(id: string): string {
  return `${OUTBOX_PREFIX}${id}|`;
}

function outboxPrefixEnd(id: string): string {
  return `${OUTBOX_PREFIX}${id}}`;
}

/** One stored transition waiting to be handed to the notifications fan-out. */
export interface OutboxEntry {
  jobId: string;
  /** Stable per transition (part of the event id): the time and the history row's unique suffix. */
  transitionKey: string;
  /** The job as that transition stored it. */
  job: Job;
  previousStatus: JobStatus;
  /** ISO: when the transition was stored (the history entry's `at`). */
  at: string;
  rowKey: string;
}

/**
 * The outbox row written with `history` by a state change (a create: the transaction fails, and nothing is
 * stored, when the same transition was already written). `historyRowKey` gives the transition its unique key.
 */
export function outboxAction(
  job: Job,
  previousStatus: JobStatus,
  history: HistoryEntry,
  historyRowKey: string,
): TransactionAction {
  const ms = Math.max(0, Date.parse(history.at) || 0);
  const transitionKey = `${String(ms).padStart(13, '0')}${historyRowKey.slice(-10)}`;
  const props = { ...jobProps(job, ''), previousStatus, transitionAt: history.at, transitionKey };
  return ['create', entity(shardOf(job.id), `${outboxPrefix(job.id)}${transitionKey}`, props)];
}

function parseOutboxRow(row: Record<string, unknown>, where: string): OutboxEntry {
  const { job } = parseJobRow(row, where);
  const previous = row['previousStatus'];
  const previousStatus = JOB_STATUSES.find((s) => s === previous) ?? 'pending';
  return {
    jobId: job.id,
    transitionKey: typeof row['transitionKey'] === 'string' ? row['transitionKey'] : where,
    job,
    previousStatus,
    at: typeof row['transitionAt'] === 'string' ? row['transitionAt'] : job.state.changedAt,
    rowKey: typeof row.rowKey === 'string' ? row.rowKey : '',
  };
}

/** Reads and removes outbox rows (the writes happen in the job store's state-change transaction). */
export class TableOutbox {
  constructor(private readonly jobs: TableClient) {}

  /** The job's waiting transitions, oldest first. */
  async listForJob(jobId: string, options?: Signal): Promise<OutboxEntry[]> {
    const pk = shardOf(jobId);
    const filter = odata`PartitionKey eq ${pk} and RowKey ge ${outboxPrefix(jobId)} and RowKey lt ${outboxPrefixEnd(jobId)}`;
    const out: OutboxEntry[] = [];
    for await (const row of this.jobs.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
      ...opts(options),
    })) {
      out.push(parseOutboxRow(row, `${pk}/${String(row.rowKey)}`));
    }
    return out;
  }

  /** Removes a handed-on row; one already gone is not an error. */
  async remove(entry: OutboxEntry, options?: Signal): Promise<void> {
    try {
      await this.jobs.deleteEntity(shardOf(entry.jobId), entry.rowKey, opts(options));
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }

  /** Jobs that have a transition stored before `before` still waiting (a queue send that failed): the sweep. */
  async listJobsWaitingSince(before: Date, options?: Signal): Promise<string[]> {
    const jobs = new Set<string>();
    const cutoff = before.getTime();
    await Promise.all(
      [...SHARDS].map(async (hex) => {
        const pk = `s${hex}`;
        const filter = odata`PartitionKey eq ${pk} and RowKey ge ${OUTBOX_PREFIX} and RowKey lt ${'outbox}'}`;
        for await (const row of this.jobs.listEntities<Record<string, unknown>>({
          queryOptions: { filter, select: ['RowKey', 'transitionAt'] },
          ...opts(options),
        })) {
          const at = Date.parse(String(row['transitionAt']));
          const rk = String(row.rowKey);
          if (!(at < cutoff)) continue;
          jobs.add(rk.slice(OUTBOX_PREFIX.length, OUTBOX_PREFIX.length + 32));
        }
      }),
    );
    return [...jobs];
  }
}
