/**
 * The documented fields of a 200 status body, declared once per kind and validated here (docs/spec.md §3: `upstream`
 * keeps the kind's documented fields only, with their names, date formats and status strings as sent). A field
 * that is absent stays absent, `null` stays `null`, a wrong type makes the whole body an `InvalidResponse`.
 * Strings are bounded with `safeText`; dates are checked but kept as the upstream wrote them.
 */
import type { JobStatus, PollOutcome, StatusReading } from '../model';
import { invalidResponse, isRecord, isTruncated, parseJsonObject, safeText } from './classify';
import { parseIsoDate, parseUnixSeconds } from './dates';
import type { UpstreamResponse } from './types';

/** Longest status string accepted. */
const MAX_STATUS_LENGTH = 100;
/** Longest string kept when a rule names no limit. */
const DEFAULT_MAX_TEXT = 500;
/** Most items kept of a list of strings. */
const MAX_LIST_ITEMS = 20;

export type FieldRule =
  | { readonly type: 'string'; readonly max?: number }
  | { readonly type: 'isoDate' }
  | { readonly type: 'unixSeconds' }
  | { readonly type: 'integer'; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'strings'; readonly max?: number }
  | { readonly type: 'object'; readonly fields: FieldRules };

export type FieldRules = Readonly<Record<string, FieldRule>>;

class BodyShapeError extends Error {}

function pickField(value: unknown, rule: FieldRule, path: string): unknown {
  switch (rule.type) {
    case 'string':
      if (typeof value !== 'string') throw new BodyShapeError(`${path} is not a string.`);
      return safeText(value, rule.max ?? DEFAULT_MAX_TEXT);
    case 'isoDate':
      if (typeof value !== 'string' || parseIsoDate(value) === undefined) {
        throw new BodyShapeError(`${path} is not an ISO 8601 date.`);
      }
      return value;
    case 'unixSeconds':
      if (parseUnixSeconds(value) === undefined)
        throw new BodyShapeError(`${path} is not a unix time in seconds.`);
      return value;
    case 'integer': {
      const ok =
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= (rule.min ?? Number.MIN_SAFE_INTEGER) &&
        value <= (rule.max ?? Number.MAX_SAFE_INTEGER);
      if (!ok) throw new BodyShapeError(`${path} is not an integer in range.`);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw new BodyShapeError(`${path} is not a boolean.`);
      return value;
    case 'strings':
      if (!Array.isArray(value)) throw new BodyShapeError(`${path} is not an array.`);
      return value.slice(0, MAX_LIST_ITEMS).map((item: unknown, index) => {
        if (typeof item !== 'string') throw new BodyShapeError(`${path}[${index}] is not a string.`);
        return safeText(item, rule.max ?? DEFAULT_MAX_TEXT);
      });
    case 'object':
      if (!isRecord(value)) throw new BodyShapeError(`${path} is not an object.`);
      return pickFields(value, rule.fields, `${path}.`);
  }
}

function pickFields(
  source: Record<string, unknown>,
  rules: FieldRules,
  prefix: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(rules)) {
    if (!Object.hasOwn(source, name)) continue;
    const value = source[name];
    out[name] = value === null ? null : pickField(value, rule, `${prefix}${name}`);
  }
  return out;
}

/**
 * Reads a 200 body: a JSON object, not truncated, with a non-empty string `status`, and every documented field
 * of `rules` of the right type. Returns the documented fields (`upstream`) and the raw status, or the
 * `InvalidResponse` outcome naming the first problem (`label` names the body, e.g. "Speech model").
 */
export function readDocumentedBody(
  response: UpstreamResponse,
  label: string,
  rules: FieldRules,
):
  | { ok: true; upstream: Record<string, unknown>; upstreamStatus: string }
  | { ok: false; outcome: PollOutcome } {
  const invalid = (why: string): { ok: false; outcome: PollOutcome } => ({
    ok: false,
    outcome: {
      kind: 'failure',
      failure: invalidResponse(`${label} is not the documented shape: ${why}`, response.status),
    },
  });
  if (isTruncated(response)) return invalid('the body is larger than the size read.');
  const body = parseJsonObject(response.bodyText);
  if (!body) return invalid('the body is not a JSON object.');
  const status = body.status;
  if (typeof status !== 'string' || status.length === 0 || status.length > MAX_STATUS_LENGTH) {
    return invalid('status is not a string.');
  }
  try {
    const upstream = pickFields(body, rules, '');
    const upstreamStatus = safeText(status, MAX_STATUS_LENGTH);
    return { ok: true, upstream: { ...upstream, status: upstreamStatus }, upstreamStatus };
  } catch (error: unknown) {
    if (error instanceof BodyShapeError) return invalid(error.message);
    throw error;
  }
}

/**
 * The reading of a status string through the kind's map (lowercase keys; the upstream's case is kept in
 * `upstreamStatus`): an unknown string is `running` with `unknownUpstreamStatus` (docs/spec.md §3: never end polling on it).
 */
export function statusReading(
  upstreamStatus: string,
  upstream: Record<string, unknown>,
  map: Readonly<Record<string, JobStatus>>,
): StatusReading {
  const normalized = map[upstreamStatus.toLowerCase()];
  const reading: StatusReading = { status: normalized ?? 'running', upstreamStatus, upstream };
  if (normalized === undefined) reading.unknownUpstreamStatus = true;
  return reading;
}
