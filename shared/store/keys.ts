import { randomBytes } from 'node:crypto';
import { StatusCacheError } from '../errors';
import { JOB_ID_PATTERN } from '../model';

/*
 * Layout (cost matters: every operation below is a fixed, small number of Table calls).
 *
 * Table `jobs`, PartitionKey `s` + first hex char of the job id (16 shards). In each partition:
 *   job|{id}                         registration + latest state, and `dueKey` (RowKey of its due row, or '')
 *   due|{nextCheckAt ISO}|{id}       due index: a full copy of the job row (the poller needs no second read)
 *   hist|{id}|{reverse ms}{suffix}   one history transition; newest first within the prefix
 * One job's rows share a partition, so a state change (job row + due row move + history row) is one batch.
 *
 * Table `pollstate`: PartitionKey 'resource' (one row per upstream resource), PartitionKey 'cycle' RowKey 'last'.
 */

export const JOB_PREFIX = 'job|';
/** '}' is the character after '|': `RowKey lt 'job}'` closes the `job|` prefix range. */
export const JOB_PREFIX_END = 'job}';
export const DUE_PREFIX = 'due|';
export const HIST_PREFIX = 'hist|';
export const RESOURCE_PARTITION = 'resource';
export const CYCLE_PARTITION = 'cycle';
export const CYCLE_ROW = 'last';
export const SHARDS = '0123456789abcdef';
export const MAX_STRING_CHARS = 32 * 1024;
export const MAX_PAGE = 100;
export const HISTORY_DELETE_BATCH = 100;

export function checkId(id: string): void {
  if (!JOB_ID_PATTERN.test(id))
    throw new StatusCacheError(`Invalid job id '${id.slice(0, 64)}': expected 32 lowercase hex characters`);
}

export function shardOf(id: string): string {
  return `s${id.charAt(0)}`;
}

export function jobRowKey(id: string): string {
  return `${JOB_PREFIX}${id}`;
}

function isoKey(value: string, field: string): string {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new StatusCacheError(`Invalid ${field} '${value}': not an ISO 8601 time`);
  return new Date(ms).toISOString();
}

export function dueRowKey(nextCheckAt: string, id: string): string {
  return `${DUE_PREFIX}${isoKey(nextCheckAt, 'nextCheckAt')}|${id}`;
}

export function historyPrefix(id: string): string {
  return `${HIST_PREFIX}${id}|`;
}

/** Exclusive upper bound of the `hist|{id}|` prefix range. */
export function historyPrefixEnd(id: string): string {
  return `${HIST_PREFIX}${id}}`;
}

const REVERSE_TIME_BASE = 9_999_999_999_999;
let historySequence = randomBytes(3).readUIntBE(0, 3);

/**
 * `hist|{id}|{13-digit reverse ms}{6 hex: reverse process sequence}{4 hex random}`: newest first; two entries in
 * the same millisecond from one process still list newest first; the random part keeps writers apart.
 */
export function historyRowKey(id: string, at: string): string {
  const parsed = Date.parse(at);
  const ms = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), REVERSE_TIME_BASE) : Date.now();
  const reverse = String(REVERSE_TIME_BASE - ms).padStart(13, '0');
  historySequence = (historySequence + 1) & 0xffffff;
  const sequence = (0xffffff - historySequence).toString(16).padStart(6, '0');
  return `${historyPrefix(id)}${reverse}${sequence}${randomBytes(2).toString('hex')}`;
}

/** RowKeys may not hold '/', '\\', '#', '?' or control characters: keep a safe set, escape the rest as `_xx`. */
export function resourceRowKey(resource: string): string {
  let out = '';
  for (const byte of Buffer.from(resource, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9.:-]/.test(ch) ? ch : `_${byte.toString(16).padStart(2, '0')}`;
  }
  if (out.length === 0 || out.length > 1024)
    throw new StatusCacheError(`Invalid resource key '${resource.slice(0, 64)}'`);
  return out;
}
