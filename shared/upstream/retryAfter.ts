/**
 * The one reader of wait hints in response headers (`Retry-After`, `retry-after-ms`, `x-ms-retry-after-ms`), for
 * the upstream services and for Key Vault alike. Header values are untrusted: anything unreadable is ignored.
 */

/** Longest wait any hint may ask for (quota periods are at most a month); longer values are clamped. */
export const MAX_RETRY_AFTER_MS = 31 * 24 * 60 * 60 * 1000;

/** A header by name: `Headers` (fetch) or a pipeline response's `headers.get`. */
export type HeaderReader = Pick<Headers, 'get'> | ((name: string) => string | null | undefined);

export function clampMs(ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(Math.ceil(ms), MAX_RETRY_AFTER_MS);
}

/** `Retry-After`: delay-seconds (a non-negative number) or an HTTP-date (relative to `now`, never negative). */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.length > 100) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return clampMs(Number(text) * 1000);
  // HTTP-date: IMF-fixdate, RFC 850 or asctime; all start with a day name.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return clampMs(Math.max(0, at - now.getTime()));
}

/** `retry-after-ms` / `x-ms-retry-after-ms`: a non-negative number of milliseconds. */
export function parseRetryAfterMs(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!/^\d{1,15}(\.\d+)?$/.test(text)) return undefined;
  return clampMs(Number(text));
}

/**
 * The wait the response headers ask for, in ms: `retry-after-ms`, then `x-ms-retry-after-ms` (both more precise),
 * then `Retry-After` — the order the Azure SDK uses.
 */
export function retryAfterFromHeaders(headers: HeaderReader, now: Date): number | undefined {
  const header = typeof headers === 'function' ? headers : (name: string) => headers.get(name);
  return (
    parseRetryAfterMs(header('retry-after-ms')) ??
    parseRetryAfterMs(header('x-ms-retry-after-ms')) ??
    parseRetryAfter(header('retry-after'), now)
  );
}
