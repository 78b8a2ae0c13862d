/**
 * Benchmark 1's "work above the read" figures: the CPU the status path spends above its storage read, measured
 * CPU-bound in this process (see ./readPath).
 */
import type { TableClient } from '@azure/data-tables';
import type { HttpResponseInit } from '@azure/functions';
import { STATUS_READS_KEPT } from '../shared/store/tableJobStore';
import { median } from './common';
import { benchServices, fixedKey } from './fixtures';

/** Jobs the work-above-the-read figures read in turn: more than the store keeps parsed. */
const ROWS_NOT_KEPT = STATUS_READS_KEPT + 1_000;

/**
 * CPU per status read spent above the storage read: the real store and API over a table client that answers from
 * memory with `entity`, for `ROWS_NOT_KEPT` jobs read in turn (more than the store keeps: every read parses its row
 * and renders it, as the first read after a poll does):
 *   ok           the 200 path, JSON included
 *   notModified  the 304 path (If-None-Match matches)
 *   kept         the 200 path for a job read again while its row is unchanged (one job, read over and over)
 */
export async function ownWork(
  entity: unknown,
  key: string,
  quick: boolean,
): Promise<{ ok: number; notModified: number; kept: number }> {
  const answer = entity as Record<string, unknown>;
  const ids = Array.from({ length: ROWS_NOT_KEPT }, (_, i) => (i + 1).toString(16).padStart(32, '0'));
  const fakeClient = {
    getEntity: (_pk: string, rowKey: string) =>
      Promise.resolve({ ...answer, id: rowKey.slice('job|'.length) }),
  };
  const { api } = benchServices(
    {},
    { tableClient: () => fakeClient as unknown as TableClient, keys: fixedKey(key) },
  );
  const etags: string[] = [];
  for (const id of ids) {
    const etag = new Headers((await api.getStatus(id, null)).headers).get('etag');
    if (etag === null) throw new Error(`status of ${id} has no ETag`);
    etags.push(etag);
  }
  const iterations = quick ? 6_000 : 20_000;
  const measure = async (read: (i: number) => Promise<HttpResponseInit>): Promise<number> => {
    const before = process.cpuUsage();
    for (let i = 0; i < iterations; i++) await read(i); // a 200 carries its body serialized: JSON included
    const used = process.cpuUsage(before);
    return (used.user + used.system) / iterations;
  };
  const n = ids.length;
  const ok: number[] = [];
  const notModified: number[] = [];
  const kept: number[] = [];
  for (let round = 0; round < 7; round++) {
    ok.push(await measure((i) => api.getStatus(ids[i % n], null)));
    notModified.push(await measure((i) => api.getStatus(ids[i % n], etags[i % n]!)));
    kept.push(await measure(() => api.getStatus(ids[0], null)));
  }
  return { ok: median(ok), notModified: median(notModified), kept: median(kept) };
}
