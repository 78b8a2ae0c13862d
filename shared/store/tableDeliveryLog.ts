import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { Clock } from '../clock';
import { StatusCacheError } from '../errors';
import {
  DELIVERY_RETENTION_MS,
  EVENT_TYPES,
  type DeliveryLog,
  type DeliveryRecord,
  type DeliveryStatus,
  type EventType,
  type InitializableStore,
} from '../notifications/types';
import { checkTop, decodeToken, encodeToken } from './continuation';
import { double, entity, RowReader, text, type EntityProps, type Row } from './entities';
import { opts, statusCodeOf, type Signal, type TableClientFactory } from './tableClient';
import { checkSubscriptionId, createTableIfMissing } from './tableSubscriptionStore';

/*
 * Layout: table `deliveries`, PartitionKey the subscription id. In each partition:
 *   rec|{13-digit reverse ms}|{event key}   one record (docs/spec.md §12); newest first by when it was first logged
 *   evt|{event key}                          where the record of that event lives (its `rec|` RowKey)
 * An upsert of a known record is one write (the `rec|` key is remembered in memory; else one point read first);
 * the first one writes both rows in one batch. Listing reads the `rec|` range of the last 7 days.
 */
const RECORD_PREFIX = 'rec|';
const EVENT_PREFIX = 'evt|';
const REVERSE_TIME_BASE = 9_999_999_999_999;
const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];
/** Record keys remembered per process (an upsert of a remembered record skips its point read). */
const REMEMBERED_KEYS = 10_000;
const MAX_EVENT_ID_LENGTH = 512;

export class TableDeliveryLog implements DeliveryLog, InitializableStore {
  private readonly table: TableClient;
  private readonly clock: Clock;
  private readonly recordKeys = new Map<string, string>();

  constructor(options: { tableClient: TableClientFactory; clock: Clock; tableName?: string }) {
    this.table = options.tableClient(options.tableName ?? 'deliveries');
    this.clock = options.clock;
  }

  async initialize(options?: Signal): Promise<void> {
    await createTableIfMissing(this.table, options);
  }

  async upsert(record: DeliveryRecord, options?: Signal): Promise<void> {
    const pk = record.subscriptionId;
    checkSubscriptionId(pk);
    const eventKey = eventKeyOf(record.eventId);
    const remembered = `${pk}|${eventKey}`;
    let recordKey = this.recordKeys.get(remembered) ?? (await this.readRecordKey(pk, eventKey, options));
    if (recordKey === undefined) {
      recordKey = `${RECORD_PREFIX}${reverseMs(this.clock.now().getTime())}|${eventKey}`;
      const actions: TransactionAction[] = [
        ['create', entity(pk, `${EVENT_PREFIX}${eventKey}`, { record: recordKey })],
        ['upsert', entity(pk, recordKey, recordProps(record)), 'Replace'],
      ];
      try {
        await this.table.submitTransaction(actions, opts(options));
        this.remember(remembered, recordKey);
        return;
      } catch (error) {
        if (statusCodeOf(error) !== 409) throw error;
        // Another writer logged this event first: write into its record.
        recordKey = await this.readRecordKey(pk, eventKey, options);
        if (recordKey === undefined) throw error;
      }
    }
    await this.table.upsertEntity(entity(pk, recordKey, recordProps(record)), 'Replace', opts(options));
    this.remember(remembered, recordKey);
  }

  async list(
    subscriptionId: string,
    options: { top: number; continuationToken?: string; abortSignal?: AbortSignal },
  ): Promise<{ items: DeliveryRecord[]; continuationToken?: string }> {
    checkSubscriptionId(subscriptionId);
    const top = checkTop(options.top);
    const scope = JSON.stringify(['deliveries', subscriptionId]);
    const continuationToken =
      options.continuationToken === undefined ? undefined : decodeToken(scope, options.continuationToken);
    // Records older than the retention are not listed (newer ones have smaller reverse keys).
    const oldest = `${RECORD_PREFIX}${reverseMs(this.clock.now().getTime() - DELIVERY_RETENTION_MS)}`;
    const filter = odata`PartitionKey eq ${subscriptionId} and RowKey ge ${RECORD_PREFIX} and RowKey lt ${oldest}`;
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter }, ...opts(options) })
      .byPage({ maxPageSize: top, ...(continuationToken ? { continuationToken } : {}) });
    const first = await pages.next();
    if (first.done === true) return { items: [] };
    const items = first.value.map((row) => parseRecordRow(subscriptionId, row));
    const next = encodeToken(scope, first.value.continuationToken);
    return next === undefined ? { items } : { items, continuationToken: next };
  }

  /** Deletes every record of a subscription (when it is deleted), in batches of 100. */
  async deleteAll(subscriptionId: string, options?: Signal): Promise<void> {
    checkSubscriptionId(subscriptionId);
    const filter = odata`PartitionKey eq ${subscriptionId}`;
    const pages = this.table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter, select: ['RowKey'] },
        ...opts(options),
      })
      .byPage({ maxPageSize: 100 });
    for await (const page of pages) {
      const actions: TransactionAction[] = page.map((row) => [
        'delete',
        { partitionKey: subscriptionId, rowKey: String(row.rowKey) },
      ]);
      if (actions.length > 0) await this.table.submitTransaction(actions, opts(options));
    }
    for (const key of this.recordKeys.keys())
      if (key.startsWith(`${subscriptionId}|`)) this.recordKeys.delete(key);
  }

  private async readRecordKey(pk: string, eventKey: string, options?: Signal): Promise<string | undefined> {
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(
        pk,
        `${EVENT_PREFIX}${eventKey}`,
        opts(options),
      );
      const key = row['record'];
      return typeof key === 'string' && key.startsWith(RECORD_PREFIX) ? key : undefined;
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  private remember(key: string, recordKey: string): void {
    this.recordKeys.delete(key);
    this.recordKeys.set(key, recordKey);
    if (this.recordKeys.size > REMEMBERED_KEYS) {
      const oldest = this.recordKeys.keys().next().value;
      if (oldest !== undefined) this.recordKeys.delete(oldest);
    }
  }
}

function reverseMs(ms: number): string {
  return String(REVERSE_TIME_BASE - Math.min(Math.max(ms, 0), REVERSE_TIME_BASE)).padStart(13, '0');
}

/** The event id as a RowKey part: as is when plainly safe, else base64url behind `~` (never in the plain set). */
function eventKeyOf(eventId: string): string {
  if (eventId.length === 0 || eventId.length > MAX_EVENT_ID_LENGTH) {
    throw new StatusCacheError(`An event id must be 1-${MAX_EVENT_ID_LENGTH} characters`);
  }
  return /^[A-Za-z0-9._:-]+$/.test(eventId)
    ? eventId
    : `~${Buffer.from(eventId, 'utf8').toString('base64url')}`;
}

function recordProps(r: DeliveryRecord): EntityProps {
  const p: EntityProps = {
    eventId: text(r.eventId, 'eventId'),
    type: r.type,
    jobId: text(r.jobId, 'jobId'),
    status: r.status,
    attempts: double(r.attempts, 'attempts'),
  };
  if (r.lastAttemptAt !== undefined) p['lastAttemptAt'] = r.lastAttemptAt;
  if (r.lastHttpStatus !== undefined) p['lastHttpStatus'] = double(r.lastHttpStatus, 'lastHttpStatus');
  return p;
}

function parseRecordRow(subscriptionId: string, row: Row): DeliveryRecord {
  const where = `deliveries/${subscriptionId}/${String(row['rowKey'])}`;
  const r = new RowReader(row, where);
  const type = r.string('type');
  const status = r.string('status');
  if (
    !(EVENT_TYPES as readonly string[]).includes(type) ||
    !(DELIVERY_STATUSES as readonly string[]).includes(status)
  ) {
    throw new StatusCacheError(`Stored entity ${where} has an invalid 'type' or 'status'`);
  }
  const record: DeliveryRecord = {
    subscriptionId,
    eventId: r.string('eventId'),
    type: type as EventType,
    jobId: r.string('jobId'),
    status: status as DeliveryStatus,
    attempts: r.number('attempts'),
  };
  const lastAttemptAt = r.optionalString('lastAttemptAt');
  if (lastAttemptAt !== undefined) record.lastAttemptAt = lastAttemptAt;
  const lastHttpStatus = r.optionalNumber('lastHttpStatus');
  if (lastHttpStatus !== undefined) record.lastHttpStatus = lastHttpStatus;
  return record;
}
