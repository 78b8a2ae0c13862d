/**
 * An in-memory stand-in for the Table service, behind the `TableClient` methods the store uses (point reads and
 * writes with ETags, $batch transactions, key-range queries with paging), for benchmark 5 and the unit tests.
 *
 * Why: Azurite keeps a table in LokiJS, whose index upkeep makes each write cost more as the table grows (a
 * 10-times-larger table costs ~10 times more per write), so on Azurite a cycle over 50,000 jobs measures the
 * emulator, not the app. Here each partition is a sorted array (binary search; a write moves pointers), so the
 * storage cost per operation stays flat and the growth figures show the app's own scaling. Real Table storage
 * point operations do not slow down with table size either.
 */
import type { TableClient } from '@azure/data-tables';
import type { TableClientFactory } from '../shared/store/tableJobStore';

type Props = Record<string, unknown>;

interface Row {
  partitionKey: string;
  rowKey: string;
  props: Props;
  etag: string;
  timestamp: string;
}

class Partition {
  readonly keys: string[] = [];
  readonly rows = new Map<string, Row>();

  /** First index whose key is >= key. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  put(row: Row): void {
    if (!this.rows.has(row.rowKey)) this.keys.splice(this.lowerBound(row.rowKey), 0, row.rowKey);
    this.rows.set(row.rowKey, row);
  }

  remove(rowKey: string): void {
    if (!this.rows.delete(rowKey)) return;
    this.keys.splice(this.lowerBound(rowKey), 1);
  }
}

class TableError extends Error {
  constructor(readonly statusCode: number) {
    super(`in-memory table: ${statusCode}`);
    this.name = 'RestError';
  }
}

interface Clause {
  field: string;
  op: 'eq' | 'ne' | 'ge' | 'gt' | 'le' | 'lt';
  value: string;
}

/** The filters the store builds with `odata`: `Field op 'value'` joined by `and`. */
function parseFilter(filter: string | undefined): Clause[] {
  if (filter === undefined || filter.trim() === '') return [];
  const clauses: Clause[] = [];
  const re = /\s*(\w+) (eq|ne|ge|gt|le|lt) '((?:[^']|'')*)'\s*(?:and|$)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(filter)) !== null) {
    clauses.push({ field: m[1]!, op: m[2] as Clause['op'], value: m[3]!.replace(/''/g, "'") });
    consumed = re.lastIndex;
    if (consumed >= filter.length) break;
  }
  if (consumed < filter.trim().length) throw new Error(`in-memory table: unsupported filter ${filter}`);
  return clauses;
}

function matches(value: unknown, clause: Clause): boolean {
  if (typeof value !== 'string') return clause.op === 'ne';
  switch (clause.op) {
    case 'eq':
      return value === clause.value;
    case 'ne':
      return value !== clause.value;
    case 'ge':
      return value >= clause.value;
    case 'gt':
      return value > clause.value;
    case 'le':
      return value <= clause.value;
    case 'lt':
      return value < clause.value;
  }
}

function plain(entity: Props): { partitionKey: string; rowKey: string; props: Props } {
  const { partitionKey, rowKey } = entity;
  const props: Props = {};
  for (const [name, value] of Object.entries(entity)) {
    if (name === 'partitionKey' || name === 'rowKey' || name === 'etag') continue;
    // Edm-typed values ({ value, type }) are stored as their value, as the service returns them.
    props[name] =
      typeof value === 'object' && value !== null && 'value' in value && 'type' in value
        ? Number((value as { value: unknown }).value)
        : value;
  }
  return { partitionKey: String(partitionKey), rowKey: String(rowKey), props };
}

/** Runs `fn` as a request: its result or its error as a promise. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/** What crosses the wire is JSON: readers get their own copy, as from the real service. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export interface MemoryTables {
  factory: TableClientFactory;
  /** Requests made so far (a transaction counts once, as on the wire). */
  requests(): number;
  /** Rows held, all tables. */
  rows(): number;
}

export function memoryTables(): MemoryTables {
  const tables = new Map<string, Map<string, Partition>>();
  let requests = 0;
  let version = 0;
  const nextEtag = (): { etag: string; timestamp: string } => {
    const timestamp = new Date().toISOString();
    version++;
    return { etag: `W/"datetime'${encodeURIComponent(timestamp)}-${version}'"`, timestamp };
  };

  const client = (name: string): TableClient => {
    const table = (): Map<string, Partition> => {
      let t = tables.get(name);
      if (!t) {
        t = new Map();
        tables.set(name, t);
      }
      return t;
    };
    const partition = (pk: string): Partition => {
      const t = table();
      let p = t.get(pk);
      if (!p) {
        p = new Partition();
        t.set(pk, p);
      }
      return p;
    };
    const find = (pk: string, rk: string): Row | undefined => table().get(pk)?.rows.get(rk);
    const out = (row: Row): Props => ({
      ...row.props,
      partitionKey: row.partitionKey,
      rowKey: row.rowKey,
      etag: row.etag,
      timestamp: row.timestamp,
    });
    const checkEtag = (row: Row, etag: string | undefined): void => {
      if (etag !== undefined && etag !== '*' && etag !== row.etag) throw new TableError(412);
    };
    const write = (pk: string, rk: string, props: Props): Row => {
      const row: Row = { partitionKey: pk, rowKey: rk, props, ...nextEtag() };
      partition(pk).put(row);
      return row;
    };

    type Action = [string, Props, unknown?, { etag?: string }?];
    const apply = (action: Action, dryRun: boolean): void => {
      const [kind, entity] = action;
      const e = plain(entity);
      const existing = find(e.partitionKey, e.rowKey);
      switch (kind) {
        case 'create':
          if (existing) throw new TableError(409);
          if (!dryRun) write(e.partitionKey, e.rowKey, e.props);
          return;
        case 'delete': {
          if (!existing) throw new TableError(404);
          checkEtag(existing, (action[2] as { etag?: string } | undefined)?.etag);
          if (!dryRun) partition(e.partitionKey).remove(e.rowKey);
          return;
        }
        case 'update': {
          if (!existing) throw new TableError(404);
          checkEtag(existing, action[3]?.etag);
          const mode = action[2] ?? 'Merge';
          if (!dryRun)
            write(e.partitionKey, e.rowKey, mode === 'Replace' ? e.props : { ...existing.props, ...e.props });
          return;
        }
        case 'upsert': {
          const mode = action[2] ?? 'Merge';
          if (!dryRun)
            write(
              e.partitionKey,
              e.rowKey,
              mode === 'Replace' || !existing ? e.props : { ...existing.props, ...e.props },
            );
          return;
        }
        default:
          throw new Error(`in-memory table: unsupported action ${kind}`);
      }
    };

    const query = (filter: string | undefined): Props[] => {
      const clauses = parseFilter(filter);
      const pkEq = clauses.find((c) => c.field === 'PartitionKey' && c.op === 'eq')?.value;
      const partitions =
        pkEq !== undefined
          ? [...(table().has(pkEq) ? [[pkEq, table().get(pkEq)!] as const] : [])]
          : [...table()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const lower = clauses
        .filter((c) => c.field === 'RowKey' && (c.op === 'ge' || c.op === 'gt' || c.op === 'eq'))
        .map((c) => c.value)
        .sort()
        .pop();
      const rows: Props[] = [];
      for (const [pk, p] of partitions) {
        for (let i = lower === undefined ? 0 : p.lowerBound(lower); i < p.keys.length; i++) {
          const row = p.rows.get(p.keys[i]!)!;
          const fields: Props = { ...row.props, PartitionKey: pk, RowKey: row.rowKey };
          if (clauses.every((c) => matches(fields[c.field], c))) rows.push(out(row));
          else if (
            clauses.some(
              (c) => c.field === 'RowKey' && (c.op === 'lt' || c.op === 'le') && !matches(row.rowKey, c),
            )
          )
            break; // past the upper end of the key range
        }
      }
      return rows;
    };

    const token = (row: Props | undefined): string | undefined =>
      row === undefined
        ? undefined
        : Buffer.from(
            JSON.stringify({ nextPartitionKey: row.partitionKey, nextRowKey: row.rowKey }),
          ).toString('base64');

    const fake = {
      createTable: () => {
        requests++;
        table();
        return Promise.resolve();
      },
      deleteTable: () => {
        requests++;
        tables.delete(name);
        return Promise.resolve();
      },
      getEntity: (pk: string, rk: string, options?: { queryOptions?: { select?: string[] } }) =>
        settle(() => {
          requests++;
          const row = find(pk, rk);
          if (!row) throw new TableError(404);
          const select = options?.queryOptions?.select;
          if (select === undefined) return wire(out(row));
          // As the service answers a `$select`: the selected properties that exist, and the row's ETag.
          const all = out(row);
          const picked: Props = { etag: row.etag };
          for (const name of select) if (all[name] !== undefined) picked[name] = all[name];
          return wire(picked);
        }),
      createEntity: (entity: Props) =>
        settle(() => {
          requests++;
          apply(['create', entity], false);
          return {};
        }),
      upsertEntity: (entity: Props, mode?: string) =>
        settle(() => {
          requests++;
          apply(['upsert', entity, mode], false);
          return {};
        }),
      updateEntity: (entity: Props, mode?: string, options?: { etag?: string }) =>
        settle(() => {
          requests++;
          apply(['update', entity, mode, options], false);
          // As the service answers: the row's new ETag.
          return { etag: find(String(entity['partitionKey']), String(entity['rowKey']))?.etag };
        }),
      deleteEntity: (pk: string, rk: string, options?: { etag?: string }) =>
        settle(() => {
          requests++;
          apply(['delete', { partitionKey: pk, rowKey: rk }, options], false);
          return {};
        }),
      submitTransaction: (actions: Action[]) =>
        settle(() => {
          requests++;
          // All or nothing: check every action against the current rows, then apply them.
          for (const action of actions) apply(action, true);
          for (const action of actions) apply(action, false);
          return { status: 202, subResponses: [] };
        }),
      listEntities: (options: { queryOptions?: { filter?: string } } = {}) => {
        let pageRequests = 0;
        // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable, as the SDK's pages are
        const pages = async function* (
          maxPageSize: number,
          start: string | undefined,
        ): AsyncGenerator<Props[] & { continuationToken?: string }> {
          const all = query(options.queryOptions?.filter);
          let from = 0;
          if (start !== undefined) {
            const t = JSON.parse(Buffer.from(start, 'base64').toString()) as {
              nextPartitionKey: string;
              nextRowKey?: string;
            };
            from = all.findIndex((r) => r.partitionKey === t.nextPartitionKey && r.rowKey === t.nextRowKey);
            if (from < 0) from = all.length;
          }
          for (let i = from; i < all.length || (i === from && pageRequests === 0); i += maxPageSize) {
            requests++;
            pageRequests++;
            const page = wire(all.slice(i, i + maxPageSize)) as Props[] & { continuationToken?: string };
            const next = token(all[i + maxPageSize]);
            if (next !== undefined) page.continuationToken = next;
            yield page;
          }
        };
        const iterable = {
          byPage: (o: { maxPageSize?: number; continuationToken?: string } = {}) =>
            pages(o.maxPageSize ?? 1000, o.continuationToken),
          [Symbol.asyncIterator]: async function* () {
            for await (const page of pages(1000, undefined)) yield* page;
          },
        };
        return iterable;
      },
    };
    return fake as unknown as TableClient;
  };

  return {
    factory: client,
    requests: () => requests,
    rows: () => {
      let n = 0;
      for (const t of tables.values()) for (const p of t.values()) n += p.keys.length;
      return n;
    },
  };
}
