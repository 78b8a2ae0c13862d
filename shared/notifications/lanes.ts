import { odata, type TableClient } from '@azure/data-tables';
import { opts, statusCodeOf, type Signal } from '../store/tableClient';
import type { DeliveryStatus, JobEvent } from './types';

/*
 * Delivery lanes (docs/spec.md §12): one lane per subscription and job, in the `webhooklanes` table, PartitionKey
 * the subscription id, RowKey `{jobId}|{transitionKey}|{0 statusChanged, 1 completed}`: a lane lists its events in
 * the order of their transitions, and only its oldest undone event is attempted, so one job's events arrive in
 * order while other lanes (other jobs, other subscriptions) go on. Done rows stay a day so that a second fan-out of
 * the same transition (at-least-once queues) finds them and delivers nothing twice.
 */

export const LANES_TABLE = 'webhooklanes';
const CHUNK = 30_000;
const MAX_CHUNKS = 30;

export interface LaneEntry {
  subscriptionId: string;
  rowKey: string;
  event: JobEvent;
  status: DeliveryStatus;
  attempts: number;
  /** ISO: not attempted before. */
  nextAttemptAt?: string;
  /** ISO: an attempt is running until then (a claim). */
  leaseUntil?: string;
  lastAttemptAt?: string;
  lastHttpStatus?: number;
  doneAt?: string;
  etag: string;
}

function laneRowKey(event: JobEvent): string {
  const parts = /^evt_([0-9a-f]{32})_(.+)_([sc])$/.exec(event.id);
  const jobId = parts?.[1] ?? event.data.id;
  const transition = parts?.[2] ?? event.timestamp;
  return `${jobId}|${transition}|${parts?.[3] === 'c' ? 1 : 0}`;
}

function chunks(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0, n = 0; i < text.length; i += CHUNK, n++) {
    if (n >= MAX_CHUNKS) throw new RangeError('An event is too large to store');
    out[n === 0 ? 'event' : `event${n}`] = text.slice(i, i + CHUNK);
  }
  return out;
}

function joinChunks(row: Record<string, unknown>): string {
  let text = typeof row['event'] === 'string' ? row['event'] : '';
  for (let n = 1; typeof row[`event${n}`] === 'string'; n++) text += row[`event${n}`] as string;
  return text;
}

function parse(row: Record<string, unknown>): LaneEntry {
  const str = (name: string): string | undefined =>
    typeof row[name] === 'string' && row[name] !== '' ? row[name] : undefined;
  const num = (name: string): number | undefined => (typeof row[name] === 'number' ? row[name] : undefined);
  const status = str('status');
  const entry: LaneEntry = {
    subscriptionId: String(row['partitionKey']),
    rowKey: String(row['rowKey']),
    event: JSON.parse(joinChunks(row)) as JobEvent,
    status: status === 'delivered' || status === 'failed' ? status : 'pending',
    attempts: num('attempts') ?? 0,
    etag: String(row['etag']),
  };
  for (const name of ['nextAttemptAt', 'leaseUntil', 'lastAttemptAt', 'doneAt'] as const) {
    const v = str(name);
    if (v !== undefined) entry[name] = v;
  }
  const http = num('lastHttpStatus');
  if (http !== undefined) entry.lastHttpStatus = http;
  return entry;
}

function props(
  entry: Omit<LaneEntry, 'etag' | 'rowKey' | 'subscriptionId' | 'event'>,
): Record<string, unknown> {
  const p: Record<string, unknown> = { status: entry.status, attempts: entry.attempts };
  // Merge updates: an absent time is written as '' (read back as absent), so a cleared claim stays cleared.
  for (const name of ['nextAttemptAt', 'leaseUntil', 'lastAttemptAt', 'doneAt'] as const)
    p[name] = entry[name] ?? '';
  if (entry.lastHttpStatus !== undefined) p['lastHttpStatus'] = entry.lastHttpStatus;
  return p;
}

export class TableLaneStore {
  private created: Promise<void> | undefined;

  constructor(private readonly table: TableClient) {}

  initialize(options?: Signal): Promise<void> {
    this.created ??= this.table.createTable(opts(options)).catch((error: unknown) => {
      if (statusCodeOf(error) === 409) return;
      this.created = undefined;
      throw error;
    });
    return this.created;
  }

  /** Adds `event` to the lane of (subscription, job); false when it is already there (a second fan-out). */
  async add(subscriptionId: string, event: JobEvent, options?: Signal): Promise<boolean> {
    await this.initialize(options);
    try {
      await this.table.createEntity(
        {
          partitionKey: subscriptionId,
          rowKey: laneRowKey(event),
          ...chunks(JSON.stringify(event)),
          status: 'pending',
          attempts: 0,
        },
        opts(options),
      );
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 409) return false;
      throw error;
    }
  }

  /** The lane's rows, oldest transition first. */
  async list(subscriptionId: string, jobId: string, options?: Signal): Promise<LaneEntry[]> {
    await this.initialize(options);
    const filter = odata`PartitionKey eq ${subscriptionId} and RowKey ge ${`${jobId}|`} and RowKey lt ${`${jobId}}`}`;
    const out: LaneEntry[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
      ...opts(options),
    })) {
      out.push(parse(row));
    }
    return out.sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0));
  }

  /** Replaces the row's state if it is unchanged since read; false when another worker changed it first. */
  async update(entry: LaneEntry, options?: Signal): Promise<LaneEntry | undefined> {
    try {
      const result = await this.table.updateEntity(
        { partitionKey: entry.subscriptionId, rowKey: entry.rowKey, ...props(entry) },
        'Merge',
        { etag: entry.etag, ...opts(options) },
      );
      return { ...entry, etag: result.etag ?? entry.etag };
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 412 || status === 404) return undefined;
      throw error;
    }
  }

  async remove(entry: LaneEntry, options?: Signal): Promise<void> {
    try {
      await this.table.deleteEntity(entry.subscriptionId, entry.rowKey, opts(options));
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }

  /** Lanes whose oldest pending event is overdue by `graceMs` (its retry message was lost): the sweep. */
  async listOverdue(
    now: Date,
    graceMs: number,
    options?: Signal,
  ): Promise<{ subscriptionId: string; jobId: string }[]> {
    await this.initialize(options);
    const cutoff = new Date(now.getTime() - graceMs).toISOString();
    const found = new Map<string, { subscriptionId: string; jobId: string }>();
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`status eq ${'pending'}` },
      ...opts(options),
    })) {
      const next = typeof row['nextAttemptAt'] === 'string' ? row['nextAttemptAt'] : '';
      const lease = typeof row['leaseUntil'] === 'string' ? row['leaseUntil'] : '';
      if (next > cutoff || lease > cutoff) continue;
      const subscriptionId = String(row.partitionKey);
      const jobId = String(row.rowKey).split('|')[0] ?? '';
      found.set(`${subscriptionId}|${jobId}`, { subscriptionId, jobId });
    }
    return [...found.values()];
  }
}
