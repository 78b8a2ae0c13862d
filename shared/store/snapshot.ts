import { StatusCacheError } from '../errors';
import { isRecord, jobProps, parseJobRow } from './entities';
import { DUE_PREFIX } from './keys';
import type { PollHandle } from './types';

/**
 * A job as a `polls` message carries it (docs/spec.md §5): the properties of its due-index row as plain JSON
 * (numbers as numbers), read back with the same checks as a stored row. A handle made from it is what the cycle's
 * own listing gives: the job and its due key, so the worker's write is conditional on the due row as the cycle's is.
 */
export type PollSnapshot = Record<string, string | number>;

/** The snapshot of a handle read from the due index; undefined for a job without a due row. */
export function pollSnapshotOf(handle: PollHandle): PollSnapshot | undefined {
  if (handle.dueKey === undefined || !handle.dueKey.startsWith(DUE_PREFIX)) return undefined;
  const snapshot: PollSnapshot = {};
  for (const [name, value] of Object.entries(jobProps(handle.job, handle.dueKey)))
    snapshot[name] = typeof value === 'string' ? value : value.value;
  return snapshot;
}

/** The handle a snapshot stands for. Throws StatusCacheError when it is not a valid job row with a due key. */
export function handleFromSnapshot(snapshot: unknown, where: string): PollHandle {
  if (!isRecord(snapshot)) throw new StatusCacheError(`${where} holds no job`);
  const { job, dueKey } = parseJobRow(snapshot, where);
  if (dueKey === undefined || !dueKey.startsWith(DUE_PREFIX))
    throw new StatusCacheError(`${where} holds a job without its due key`);
  return { job, dueKey };
}
