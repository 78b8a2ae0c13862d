import { odata, type TableClient } from '@azure/data-tables';
import { StatusCacheError } from '../errors';
import {
  EVENT_TYPES,
  ROTATION_OVERLAP_MS,
  SUBSCRIPTION_ID_PATTERN,
  type EventType,
  type InitializableStore,
  type Subscription,
  type SubscriptionStore,
} from '../notifications/types';
import { checkTop, decodeToken, encodeToken } from './continuation';
import { double, entity, RowReader, text, type EntityProps, type Row } from './entities';
import { opts, statusCodeOf, type Signal, type TableClientFactory } from './tableClient';

/*
 * Layout: table `subscriptions`, PartitionKey `sub`, RowKey the subscription id (one row each). Subscriptions are
 * few (tens to hundreds): the one partition is read whole to find those that want an event. No secret is stored:
 * only `version` (and the previous one during a rotation), from which the signing secrets are derived.
 */
export const SUBSCRIPTION_PARTITION = 'sub';
/** Tries of a conditional read-modify-write (rotate) before giving up on a row under contention. */
const MAX_WRITE_TRIES = 5;

export class TableSubscriptionStore implements SubscriptionStore, InitializableStore {
  private readonly table: TableClient;

  constructor(options: { tableClient: TableClientFactory; tableName?: string }) {
    this.table = options.tableClient(options.tableName ?? 'subscriptions');
  }

  async initialize(options?: Signal): Promise<void> {
    await createTableIfMissing(this.table, options);
  }

  async create(subscription: Subscription, options?: Signal): Promise<void> {
    checkSubscriptionId(subscription.id);
    await this.table.createEntity(
      entity(SUBSCRIPTION_PARTITION, subscription.id, subscriptionProps(subscription)),
      opts(options),
    );
  }

  async get(id: string, options?: Signal): Promise<Subscription | undefined> {
    return (await this.read(id, options))?.subscription;
  }

  async list(options: {
    top: number;
    continuationToken?: string;
    abortSignal?: AbortSignal;
  }): Promise<{ items: Subscription[]; continuationToken?: string }> {
    const top = checkTop(options.top);
    const scope = JSON.stringify(['subscriptions']);
    const continuationToken =
      options.continuationToken === undefined ? undefined : decodeToken(scope, options.continuationToken);
    const filter = odata`PartitionKey eq ${SUBSCRIPTION_PARTITION}`;
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter }, ...opts(options) })
      .byPage({ maxPageSize: top, ...(continuationToken ? { continuationToken } : {}) });
    const first = await pages.next();
    if (first.done === true) return { items: [] };
    const items = first.value.map((row) => parseSubscriptionRow(row));
    const next = encodeToken(scope, first.value.continuationToken);
    return next === undefined ? { items } : { items, continuationToken: next };
  }

  async listMatching(
    event: { type: EventType; kind: string; jobId: string },
    options?: Signal,
  ): Promise<Subscription[]> {
    const filter = odata`PartitionKey eq ${SUBSCRIPTION_PARTITION}`;
    const out: Subscription[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
      ...opts(options),
    })) {
      const s = parseSubscriptionRow(row);
      if (s.disabled !== undefined || !s.events.includes(event.type)) continue;
      if (s.kinds !== undefined && !s.kinds.includes(event.kind)) continue;
      if (s.jobIds !== undefined && !s.jobIds.includes(event.jobId)) continue;
      out.push(s);
    }
    return out;
  }

  async delete(id: string, options?: Signal): Promise<boolean> {
    if (!SUBSCRIPTION_ID_PATTERN.test(id)) return false;
    try {
      await this.table.deleteEntity(SUBSCRIPTION_PARTITION, id, opts(options));
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 404) return false;
      throw error;
    }
  }

  async rotate(id: string, now: Date, options?: Signal): Promise<Subscription | undefined> {
    return this.update(
      id,
      (s) => ({
        ...s,
        version: s.version + 1,
        previousVersion: {
          version: s.version,
          validUntil: new Date(now.getTime() + ROTATION_OVERLAP_MS).toISOString(),
        },
      }),
      options,
    );
  }

  async disable(id: string, reason: string, now: Date, options?: Signal): Promise<void> {
    await this.update(
      id,
      (s) => (s.disabled ? s : { ...s, disabled: { at: now.toISOString(), reason: reason.slice(0, 1024) } }),
      options,
    );
  }

  /** Read, change, write back on the row's ETag; a concurrent writer makes it read again. */
  private async update(
    id: string,
    change: (s: Subscription) => Subscription,
    options?: Signal,
  ): Promise<Subscription | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(id, options);
      if (current === undefined) return undefined;
      const next = change(current.subscription);
      try {
        await this.table.updateEntity(
          entity(SUBSCRIPTION_PARTITION, id, subscriptionProps(next)),
          'Replace',
          { etag: current.etag, ...opts(options) },
        );
        return next;
      } catch (error) {
        const status = statusCodeOf(error);
        if (status === 404) return undefined;
        if (status !== 412 || attempt >= MAX_WRITE_TRIES) throw error;
      }
    }
  }

  private async read(
    id: string,
    options?: Signal,
  ): Promise<{ subscription: Subscription; etag: string } | undefined> {
    if (!SUBSCRIPTION_ID_PATTERN.test(id)) return undefined;
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(
        SUBSCRIPTION_PARTITION,
        id,
        opts(options),
      );
      return { subscription: parseSubscriptionRow(row), etag: row.etag };
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }
}

/** Creates a table unless it exists (idempotent, as every store's `initialize`). */
export async function createTableIfMissing(table: TableClient, options?: Signal): Promise<void> {
  try {
    await table.createTable(opts(options));
  } catch (error) {
    if (statusCodeOf(error) !== 409) throw error;
  }
}

export function checkSubscriptionId(id: string): void {
  if (!SUBSCRIPTION_ID_PATTERN.test(id)) {
    throw new StatusCacheError(
      `Invalid subscription id '${id.slice(0, 64)}': expected 32 lowercase hex characters`,
    );
  }
}

function subscriptionProps(s: Subscription): EntityProps {
  const p: EntityProps = {
    url: text(s.url, 'url'),
    events: JSON.stringify(s.events),
    createdAt: s.createdAt,
    version: double(s.version, 'version'),
  };
  if (s.kinds !== undefined) p['kinds'] = text(JSON.stringify(s.kinds), 'kinds');
  if (s.jobIds !== undefined) p['jobIds'] = text(JSON.stringify(s.jobIds), 'jobIds');
  if (s.description !== undefined) p['description'] = text(s.description, 'description');
  if (s.previousVersion !== undefined) {
    p['previousVersion'] = double(s.previousVersion.version, 'previousVersion');
    p['previousValidUntil'] = s.previousVersion.validUntil;
  }
  if (s.disabled !== undefined) {
    p['disabledAt'] = s.disabled.at;
    p['disabledReason'] = text(s.disabled.reason, 'disabledReason');
  }
  return p;
}

function parseSubscriptionRow(row: Row): Subscription {
  const id = row['rowKey'];
  const where = `subscriptions/${typeof id === 'string' ? id : '?'}`;
  const invalid = (name: string): StatusCacheError =>
    new StatusCacheError(`Stored entity ${where} has a missing or invalid '${name}'`);
  if (typeof id !== 'string' || !SUBSCRIPTION_ID_PATTERN.test(id)) throw invalid('RowKey');
  const r = new RowReader(row, where);
  const list = (name: string): string[] | undefined => {
    const raw = r.optionalString(name);
    if (raw === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalid(name);
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalid(name);
    return value;
  };
  const events = list('events');
  if (events === undefined || !events.every((e) => (EVENT_TYPES as readonly string[]).includes(e))) {
    throw invalid('events');
  }
  const subscription: Subscription = {
    id,
    url: r.string('url'),
    events: events as EventType[],
    createdAt: r.string('createdAt'),
    version: r.number('version'),
  };
  const kinds = list('kinds');
  if (kinds !== undefined) subscription.kinds = kinds;
  const jobIds = list('jobIds');
  if (jobIds !== undefined) subscription.jobIds = jobIds;
  const description = r.optionalString('description');
  if (description !== undefined) subscription.description = description;
  const previous = r.optionalNumber('previousVersion');
  const validUntil = r.optionalString('previousValidUntil');
  if (previous !== undefined && validUntil !== undefined) {
    subscription.previousVersion = { version: previous, validUntil };
  }
  const disabledAt = r.optionalString('disabledAt');
  if (disabledAt !== undefined) {
    subscription.disabled = { at: disabledAt, reason: r.optionalString('disabledReason') ?? '' };
  }
  return subscription;
}
