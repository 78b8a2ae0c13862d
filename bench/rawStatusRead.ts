/**
 * The raw status read the benchmarks compare the service against: one `TableClient.getEntity` of a job row's status
 * columns, with the store's keys (shared/store/keys.ts) and the same projection as the store's status read. A small
 * module on purpose: the bare server loads it, and nothing of the app besides.
 */
import type { GetTableEntityResponse, TableClient, TableEntityResult } from '@azure/data-tables';
import { STATUS_COLUMNS } from '../shared/store/entities';
import { jobRowKey, shardOf } from '../shared/store/keys';

/** Built once, as the store builds its own (the SDK takes a mutable array). */
const STATUS_READ = { queryOptions: { select: [...STATUS_COLUMNS] } };

export function readStatusRow(
  client: TableClient,
  id: string,
): Promise<GetTableEntityResponse<TableEntityResult<Record<string, unknown>>>> {
  return client.getEntity<Record<string, unknown>>(shardOf(id), jobRowKey(id), STATUS_READ);
}
