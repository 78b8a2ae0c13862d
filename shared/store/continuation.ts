import { createHash } from 'node:crypto';
import { InvalidContinuationTokenError, StatusCacheError } from '../errors';
import { isRecord } from './entities';
import { MAX_PAGE } from './keys';

/*
 * Continuation tokens: the SDK's token wrapped with the hash of the query it belongs to, so a token forged,
 * garbled or reused on another query is refused.
 */

const TOKEN_VERSION = 1;
const SDK_TOKEN_KEY = /^[\x20-\x7e]{1,1024}$/;

function scopeHash(scope: string): string {
  return createHash('sha256').update(scope).digest('base64url').slice(0, 16);
}

export function encodeToken(scope: string, sdkToken: string | undefined): string | undefined {
  if (sdkToken === undefined || sdkToken === '') return undefined;
  return Buffer.from(JSON.stringify({ v: TOKEN_VERSION, s: scopeHash(scope), t: sdkToken }), 'utf8').toString(
    'base64url',
  );
}

/** Returns the SDK's token after checking that it is well formed and was issued for this very query. */
export function decodeToken(scope: string, token: string): string {
  const invalid = (): InvalidContinuationTokenError =>
    new InvalidContinuationTokenError('The continuation token is not valid for this query');
  if (token.length === 0 || token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  let outer: unknown;
  try {
    outer = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!isRecord(outer) || outer['v'] !== TOKEN_VERSION || outer['s'] !== scopeHash(scope)) throw invalid();
  const sdkToken = outer['t'];
  if (typeof sdkToken !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(sdkToken)) throw invalid();
  let inner: unknown;
  try {
    inner = JSON.parse(Buffer.from(sdkToken, 'base64').toString('latin1'));
  } catch {
    throw invalid();
  }
  if (!isRecord(inner)) throw invalid();
  const { nextPartitionKey, nextRowKey, ...rest } = inner;
  if (Object.keys(rest).length > 0) throw invalid();
  if (typeof nextPartitionKey !== 'string' || !SDK_TOKEN_KEY.test(nextPartitionKey)) throw invalid();
  if (nextRowKey !== undefined && (typeof nextRowKey !== 'string' || !SDK_TOKEN_KEY.test(nextRowKey)))
    throw invalid();
  return sdkToken;
}

export function checkTop(top: number): number {
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) {
    throw new StatusCacheError(`top must be an integer from 1 to ${MAX_PAGE}, got ${String(top)}`);
  }
  return top;
}
