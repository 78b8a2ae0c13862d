import { UpstreamCallError } from '../errors';
import type { UpstreamResponse } from './types';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** Header values at least this long are treated as secrets and scrubbed from what the upstream answers. */
const MIN_REDACTED_LENGTH = 8;
export const REDACTED = '[redacted]';

export interface FetchUpstreamOptions {
  /** Request headers, including the key header. They go to this request only and are never logged or echoed. */
  headers: Record<string, string>;
  timeoutMs: number;
  /** The body is read up to this many bytes; the rest is discarded. Default 64 KiB. */
  maxBodyBytes?: number;
  /** The caller's cancellation (e.g. the cycle deadline). */
  abortSignal?: AbortSignal;
}

/** `UpstreamResponse` plus whether the body was cut at `maxBodyBytes`. */
export interface FetchedUpstreamResponse extends UpstreamResponse {
  truncated: boolean;
}

/**
 * One GET to the upstream. Redirects are returned as they are, never followed (the key must not travel to another
 * host). Failures without an HTTP answer throw `UpstreamCallError` with reason `timeout`, `aborted` (the caller's
 * signal) or `connection`; the original error is kept as `cause`.
 *
 * The body is untrusted: it is read up to `maxBodyBytes`, and every request header value (the subscription key)
 * that it echoes is replaced by `[redacted]`, so an upstream error message that quotes the key cannot carry it into
 * `lastError`, the Table or a log line.
 */
export async function fetchUpstream(
  url: string,
  options: FetchUpstreamOptions,
): Promise<FetchedUpstreamResponse> {
  const timeoutSignal = AbortSignal.timeout(options.timeoutMs);
  const signal = options.abortSignal ? AbortSignal.any([timeoutSignal, options.abortSignal]) : timeoutSignal;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  try {
    if (options.abortSignal?.aborted) throw options.abortSignal.reason;
    const response = await fetch(url, {
      method: 'GET',
      headers: options.headers,
      redirect: 'manual',
      signal,
    });
    const { text, truncated } = await readCapped(response, maxBodyBytes);
    const bodyText = redactSecrets(text, Object.values(options.headers), truncated);
    return { status: response.status, headers: response.headers, bodyText, truncated };
  } catch (error: unknown) {
    throw toCallError(error, options, timeoutSignal);
  }
}

/**
 * Replaces every occurrence (any letter case) of each secret in `text`. When the body was cut, a secret may have
 * been cut with it: a tail that is the start of a secret is dropped too.
 */
export function redactSecrets(text: string, values: readonly string[], truncated: boolean): string {
  const secrets = values.filter((v) => typeof v === 'string' && v.length >= MIN_REDACTED_LENGTH);
  if (secrets.length === 0 || text.length === 0) return text;
  let out = text;
  for (const secret of secrets) {
    const pattern = new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
    out = out.replace(pattern, REDACTED);
  }
  if (truncated) {
    for (const secret of secrets.map((s) => s.toLowerCase())) {
      const lower = out.toLowerCase();
      for (let n = Math.min(secret.length - 1, lower.length); n > 0; n--) {
        if (lower.endsWith(secret.slice(0, n))) {
          out = out.slice(0, out.length - n);
          break;
        }
      }
    }
  }
  return out;
}

function toCallError(
  error: unknown,
  options: FetchUpstreamOptions,
  timeoutSignal: AbortSignal,
): UpstreamCallError {
  if (options.abortSignal?.aborted) {
    return new UpstreamCallError('Upstream call was cancelled.', 'aborted', { cause: error });
  }
  if (timeoutSignal.aborted) {
    return new UpstreamCallError(`Upstream call timed out after ${options.timeoutMs} ms.`, 'timeout', {
      cause: error,
    });
  }
  return new UpstreamCallError(`Upstream call failed: ${describe(error)}`, 'connection', { cause: error });
}

/** A short reason from a fetch failure (undici puts the system error, e.g. ECONNREFUSED, in `cause`). */
function describe(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string')
    return cause.code;
  if (error instanceof Error) return error.message.slice(0, 200);
  return 'unknown error';
}

async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - size;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      size += room;
      truncated = true;
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  if (truncated) await reader.cancel().catch(() => undefined);
  return { text: new TextDecoder('utf-8').decode(concat(chunks, size)), truncated };
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
