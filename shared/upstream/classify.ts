/**
 * Helpers shared by adapters: wait hints (headers and Face body text), the upstream error bodies, and the docs/spec.md §4
 * table for non-200 answers. Every body is untrusted: wrong types, HTML pages, truncated or invalid JSON must give
 * a classification, never an exception.
 */
import type { UpstreamFailure } from '../model';
import { clampMs, retryAfterFromHeaders } from './retryAfter';
import type { UpstreamResponse } from './types';

export { MAX_RETRY_AFTER_MS, parseRetryAfter, parseRetryAfterMs, retryAfterFromHeaders } from './retryAfter';

/** Longest message kept from an upstream body. */
export const MAX_MESSAGE_LENGTH = 500;
/** Bodies longer than this are not parsed as JSON (fetchUpstream caps at 64 KiB anyway). */
const MAX_PARSED_BODY = 256 * 1024;

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** The parts of an upstream error body this service uses. Every field is optional: bodies are untrusted. */
export interface ParsedErrorBody {
  /** `error.code` (Face, Language). */
  code?: string;
  /** `error.message`. */
  message?: string;
  /** `error.statusCode` (Face / API Management shape). */
  statusCode?: number;
  /** The innermost `error.innererror.code` (Language). */
  innerCode?: string;
}

/** Adapter-specific additions to the shared table. */
export interface ClassifyHooks {
  /** Extra test for a quota 403, on top of the quota text and the `QuotaExceeded` code. */
  isQuotaExceeded?: (error: ParsedErrorBody) => boolean;
  /** Extra body hint (ms) for a 429 or quota 403, used when the shared hints find none. */
  bodyRetryAfterMs?: (error: ParsedErrorBody, now: Date) => number | undefined;
}

/** `N unit(s)` (fractional N; second/minute/hour/day, also sec/min/hr abbreviations) into ms. */
function amountToMs(amount: string, unit: string): number | undefined {
  const u = unit.toLowerCase();
  const factor = u.startsWith('s')
    ? SECOND_MS
    : u.startsWith('m')
      ? MINUTE_MS
      : u.startsWith('h')
        ? HOUR_MS
        : DAY_MS;
  return clampMs(Number(amount) * factor);
}

const UNIT = '(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)\\b';
const AMOUNT = '(\\d{1,9}(?:\\.\\d{1,9})?)';

/**
 * A 429 body hint: "Rate limit is exceeded. Try again in 26 seconds." (Face, Language) or "Please retry after 20
 * seconds." (Azure OpenAI).
 */
export function parseTryAgainHint(message: string | undefined): number | undefined {
  if (typeof message !== 'string') return undefined;
  const match = new RegExp(`(?:try again in|retry after) ${AMOUNT}\\s*${UNIT}`, 'i').exec(
    message.slice(0, 2000),
  );
  return match?.[1] && match[2] ? amountToMs(match[1], match[2]) : undefined;
}

/**
 * Face quota 403 body: "Out of call volume quota. Quota will be replenished in 2.12 days." Also hours, minutes,
 * seconds, the .NET time-span form API Management uses ("in 1.02:03:04", "in 02:03:04") and "retry after N days".
 */
export function parseQuotaReplenishHint(message: string | undefined): number | undefined {
  if (typeof message !== 'string') return undefined;
  const text = message.slice(0, 2000);
  const span = /(?:replenished in|retry after)\s+(?:(\d{1,4})\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?/i.exec(
    text,
  );
  if (span?.[2] && span[3] && span[4]) {
    const days = Number(span[1] ?? '0');
    return clampMs(
      days * DAY_MS + Number(span[2]) * HOUR_MS + Number(span[3]) * MINUTE_MS + Number(span[4]) * SECOND_MS,
    );
  }
  const amount = new RegExp(`(?:replenished in|retry after)\\s+${AMOUNT}\\s*${UNIT}`, 'i').exec(text);
  return amount?.[1] && amount[2] ? amountToMs(amount[1], amount[2]) : undefined;
}

export function isQuotaText(message: string | undefined): boolean {
  return typeof message === 'string' && /out of call volume quota|quota will be replenished/i.test(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Reads the three error shapes — `{"error":{"code","message"}}`, `{"error":{"statusCode","message"}}` and the
 * Language `ErrorResponse` (`error.code`, `error.message`, `error.innererror.code`) — plus the top-level
 * `{"statusCode","message"}` API Management sends. Invalid JSON (the seed's 409 has an unquoted code) falls back
 * to a lenient scan. Returns `{}` when nothing is found; never throws.
 */
export function parseErrorBody(bodyText: string): ParsedErrorBody {
  if (typeof bodyText !== 'string' || bodyText.length === 0 || bodyText.length > MAX_PARSED_BODY) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return scanErrorBody(bodyText);
  }
  if (!isRecord(parsed)) return {};
  const error = isRecord(parsed.error) ? parsed.error : parsed;
  const out: ParsedErrorBody = {};
  const code = stringField(error.code);
  if (code !== undefined) out.code = safeText(code, 200);
  const message = stringField(error.message);
  if (message !== undefined) out.message = message;
  const statusCode = error.statusCode;
  if (typeof statusCode === 'number' && Number.isInteger(statusCode)) out.statusCode = statusCode;
  const innerCode = innermostCode(error.innererror);
  if (innerCode !== undefined) out.innerCode = safeText(innerCode, 200);
  return out;
}

function innermostCode(value: unknown): string | undefined {
  let found: string | undefined;
  let current = value;
  for (let depth = 0; depth < 10 && isRecord(current); depth += 1) {
    found = stringField(current.code) ?? found;
    current = current.innererror;
  }
  return found;
}

/** Lenient reading of a body that is not JSON: the first `"code"` and `"message"` values, quoted or not. */
function scanErrorBody(text: string): ParsedErrorBody {
  const sample = text.slice(0, 16 * 1024);
  const out: ParsedErrorBody = {};
  const code = /"code"\s*:\s*"?([A-Za-z][A-Za-z0-9_.]{0,199})/.exec(sample);
  if (code?.[1]) out.code = code[1];
  const message = /"message"\s*:\s*"((?:[^"\\]|\\.){0,4000})"/.exec(sample);
  if (message?.[1] !== undefined) {
    const raw = message[1];
    let decoded = raw;
    try {
      const value: unknown = JSON.parse(`"${raw}"`);
      if (typeof value === 'string') decoded = value;
    } catch {
      decoded = raw;
    }
    if (decoded !== '') out.message = decoded;
  }
  const statusCode = /"statusCode"\s*:\s*(\d{3})\b/.exec(sample);
  if (statusCode?.[1]) out.statusCode = Number(statusCode[1]);
  return out;
}

/** Keeps a message printable and short. */
export function cleanMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = wellFormed(message.replace(/[\u0000-\u001f\u007f]+/g, ' ')).trim();
  return flat.length > MAX_MESSAGE_LENGTH ? `${wellFormed(flat.slice(0, MAX_MESSAGE_LENGTH - 1))}…` : flat;
}

/** Lone UTF-16 surrogates (a JSON body can carry them as `\ud800`) become U+FFFD: storage and clients need text. */
function wellFormed(text: string): string {
  return text.replace(/\p{Cs}/gu, '\ufffd');
}

/**
 * An upstream string kept in `upstream` (known fields only): at most `max` characters, no control characters
 * (each would take 6 characters once serialized), no lone surrogates. Bounds what one poll can make the store write.
 */
export function safeText(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return wellFormed(wellFormed(value.replace(/[\u0000-\u001f\u007f]/g, ' ')).slice(0, max));
}

/**
 * Whether `fetchUpstream` cut the body at its cap. A cut body is never read as a status: a prefix of an oversized
 * body can still be valid JSON (`{"status":"succeeded"}` followed by padding).
 */
export function isTruncated(response: UpstreamResponse): boolean {
  return (response as { truncated?: unknown }).truncated === true;
}

function describe(status: number, error: ParsedErrorBody, fallback: string): string {
  const base = error.message ?? fallback;
  const inner =
    error.innerCode !== undefined && error.innerCode !== error.code ? ` (${error.innerCode})` : '';
  return cleanMessage(`${base}${inner}`) || `Upstream answered ${status}.`;
}

/**
 * The docs/spec.md §4 table for every answer that is not a 200 status: 401 Unauthorized; 403 quota (text or
 * `QuotaExceeded`) QuotaExceeded, other 403 Forbidden; 404 NotFound; 409 Conflict; 429 RateLimited; 5xx
 * UpstreamUnavailable; 3xx (never followed) and anything else InvalidResponse.
 */
export function classifyHttpError(
  response: UpstreamResponse,
  now: Date,
  hooks: ClassifyHooks = {},
): UpstreamFailure {
  const status = response.status;
  const error = parseErrorBody(response.bodyText);
  // SPEC §4: the `x-ms-error-code` header names the code when the body does not.
  const headerCode = response.headers.get('x-ms-error-code')?.trim();
  if (error.code === undefined && headerCode) error.code = safeText(headerCode, 200);
  const base = (code: UpstreamFailure['code'], fallback: string): UpstreamFailure => {
    const failure: UpstreamFailure = { code, message: describe(status, error, fallback), httpStatus: status };
    if (error.code !== undefined) failure.upstreamCode = error.code;
    return failure;
  };
  const withWait = (failure: UpstreamFailure, ms: number | undefined): UpstreamFailure =>
    ms === undefined ? failure : { ...failure, retryAfterMs: ms };
  const headerWait = (): number | undefined => retryAfterFromHeaders(response.headers, now);
  const bodyWait = (primary: number | undefined): number | undefined =>
    primary ?? hooks.bodyRetryAfterMs?.(error, now);

  if (status >= 300 && status < 400) {
    const failure = base('InvalidResponse', '');
    return { ...failure, message: cleanMessage(`Upstream answered ${status}; redirect not followed.`) };
  }
  switch (status) {
    case 401:
      return base('Unauthorized', 'Access denied: the subscription key was refused.');
    case 403: {
      const quota =
        isQuotaText(error.message) ||
        error.code?.toLowerCase() === 'quotaexceeded' ||
        hooks.isQuotaExceeded?.(error) === true;
      if (!quota) return base('Forbidden', 'Access forbidden.');
      return withWait(
        base('QuotaExceeded', 'Out of call volume quota.'),
        bodyWait(parseQuotaReplenishHint(error.message)) ?? headerWait(),
      );
    }
    case 404:
      return base('NotFound', 'Not found.');
    case 409:
      return base('Conflict', 'Conflicting operation in progress.');
    case 429:
      return withWait(
        base('RateLimited', 'Rate limit is exceeded.'),
        headerWait() ?? bodyWait(parseTryAgainHint(error.message)),
      );
    default:
      break;
  }
  if (status >= 500 && status <= 599) {
    return withWait(base('UpstreamUnavailable', `Upstream answered ${status}.`), headerWait());
  }
  const failure = base('InvalidResponse', '');
  return {
    ...failure,
    message: cleanMessage(`Unexpected upstream answer ${status}.${error.message ? ` ${error.message}` : ''}`),
  };
}

/** An `InvalidResponse` failure (a 200 whose body is not the documented shape). */
export function invalidResponse(message: string, httpStatus: number): UpstreamFailure {
  return { code: 'InvalidResponse', message: cleanMessage(message), httpStatus };
}

/** Parses a body that must be a JSON object; `undefined` for anything else (never throws). */
export function parseJsonObject(bodyText: string): Record<string, unknown> | undefined {
  if (typeof bodyText !== 'string' || bodyText.length === 0 || bodyText.length > MAX_PARSED_BODY)
    return undefined;
  try {
    const value: unknown = JSON.parse(bodyText);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export { isRecord };
