import { StatusCacheError } from '../errors';
import { JOB_ID_PATTERN } from '../model';
import type { ResourceClaim } from './types';

/*
 * Claims as properties of a resource row: `claims`, `claims1`, `claims2`, … each at most MAX_CHARS characters of
 * `jobId,due,until,token;` entries (times in base 36 ms), about 60 characters a claim: a property holds some 500
 * claims, a row (1 MiB) some 8,000.
 */

const PROPERTY = 'claims';
const MAX_CHARS = 30_000;
const MAX_PROPERTIES = 200;
const TOKEN_PATTERN = /^[0-9a-z]{1,16}$/;

/** The row properties that hold `claims` (none when there are none). */
export function claimProperties(claims: readonly ResourceClaim[]): Record<string, string> {
  const out: Record<string, string> = {};
  let index = 0;
  let chunk = '';
  const flush = (): void => {
    if (chunk === '') return;
    if (index >= MAX_PROPERTIES) throw new StatusCacheError('Too many claims on one resource row');
    out[index === 0 ? PROPERTY : `${PROPERTY}${index}`] = chunk;
    index++;
    chunk = '';
  };
  for (const claim of claims) {
    if (!JOB_ID_PATTERN.test(claim.jobId) || !TOKEN_PATTERN.test(claim.token))
      throw new StatusCacheError(`Invalid claim on job '${claim.jobId.slice(0, 64)}'`);
    const entry = `${claim.jobId},${claim.due.toString(36)},${claim.until.toString(36)},${claim.token};`;
    if (chunk.length + entry.length > MAX_CHARS) flush();
    chunk += entry;
  }
  flush();
  return out;
}

/** The claims held by a resource row; an entry that does not parse is dropped (it can only expire). */
export function parseClaims(row: Readonly<Record<string, unknown>>): ResourceClaim[] {
  const claims: ResourceClaim[] = [];
  for (let index = 0; index < MAX_PROPERTIES; index++) {
    const value = row[index === 0 ? PROPERTY : `${PROPERTY}${index}`];
    if (typeof value !== 'string') break;
    for (const entry of value.split(';')) {
      const [jobId, due, until, token, ...rest] = entry.split(',');
      if (jobId === undefined || due === undefined || until === undefined || token === undefined) continue;
      const claim = { jobId, due: parseInt(due, 36), until: parseInt(until, 36), token };
      if (
        rest.length > 0 ||
        !JOB_ID_PATTERN.test(jobId) ||
        !TOKEN_PATTERN.test(token) ||
        !Number.isFinite(claim.due) ||
        !Number.isFinite(claim.until)
      )
        continue;
      claims.push(claim);
    }
  }
  return claims;
}
