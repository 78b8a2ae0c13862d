/**
 * `documentIntelligence.modelBuild`: Document Intelligence – Get Operation, for a custom model build (docs/spec.md §2).
 * The operation is a run: `succeeded`, `failed` and `cancelled` (`canceled`, `skipped`) are terminal (§3).
 * `percentCompleted` is read only when sent: live services omit it before success, and 0 is never invented.
 */
import type { JobStatus, PollOutcome, StatusReading } from '../../model';
import {
  classifyHttpError,
  cleanMessage,
  invalidResponse,
  isRecord,
  isTruncated,
  parseJsonObject,
  safeText,
} from '../classify';
import { parseIsoDate } from '../dates';
import { COGNITIVE_SERVICES_HOSTS } from '../hosts';
import { segmentField } from '../identity';
import { defineKind } from '../kind';
import type { UpstreamResponse } from '../types';

const MAX_STATUS_LENGTH = 100;
const MAX_TEXT = 1000;
const MAX_CODE = 200;
/** Nested `innererror` levels kept. */
const MAX_INNER_DEPTH = 5;

const STATUSES: Readonly<Record<string, JobStatus>> = {
  notstarted: 'notStarted',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  skipped: 'cancelled',
};

/** Thrown inside the validator only; turned into one InvalidResponse outcome. */
class ShapeError extends Error {}

function optionalString(
  source: Record<string, unknown>,
  name: string,
  path: string,
  max: number,
): string | undefined {
  const value = source[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ShapeError(`${path}${name} is not a string.`);
  return safeText(value, max);
}

function optionalDate(source: Record<string, unknown>, name: string): string | undefined {
  const value = optionalString(source, name, '', 64);
  if (value !== undefined && parseIsoDate(value) === undefined) {
    throw new ShapeError(`${name} is not an ISO 8601 date.`);
  }
  return value;
}

/** `error` / `innererror`: code, message, target, and the next `innererror` (bounded depth). */
function errorDetail(value: unknown, path: string, depth: number): Record<string, unknown> {
  if (!isRecord(value)) throw new ShapeError(`${path} is not an object.`);
  const out: Record<string, unknown> = {};
  for (const [name, max] of [
    ['code', MAX_CODE],
    ['message', MAX_TEXT],
    ['target', MAX_CODE],
  ] as const) {
    const text = optionalString(value, name, `${path}.`, max);
    if (text !== undefined) out[name] = text;
  }
  const inner = value.innererror;
  if (inner !== undefined && inner !== null && depth < MAX_INNER_DEPTH) {
    out.innererror = errorDetail(inner, `${path}.innererror`, depth + 1);
  }
  return out;
}

/** The documented DocumentIntelligenceOperationDetails, known fields only (`result` and `tags` are dropped). */
function validate(body: Record<string, unknown>): Record<string, unknown> {
  const status = body.status;
  if (typeof status !== 'string' || status.length === 0 || status.length > MAX_STATUS_LENGTH) {
    throw new ShapeError('status is not a string.');
  }
  const upstream: Record<string, unknown> = { status: safeText(status, MAX_STATUS_LENGTH) };
  for (const name of ['operationId', 'kind', 'resourceLocation', 'apiVersion']) {
    const value = optionalString(body, name, '', MAX_TEXT);
    if (value !== undefined) upstream[name] = value;
  }
  for (const name of ['createdDateTime', 'lastUpdatedDateTime']) {
    const value = optionalDate(body, name);
    if (value !== undefined) upstream[name] = value;
  }
  const percent = body.percentCompleted;
  if (percent !== undefined && percent !== null) {
    if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new ShapeError('percentCompleted is not an integer from 0 to 100.');
    }
    upstream.percentCompleted = percent;
  }
  if (body.error !== undefined && body.error !== null) upstream.error = errorDetail(body.error, 'error', 0);
  return upstream;
}

/** The first message of an error chain, with the innermost code that differs (e.g. `... (ModelBuildError)`). */
function failureMessage(error: unknown): string | undefined {
  if (!isRecord(error) || typeof error.message !== 'string' || error.message === '') return undefined;
  let inner: unknown = error.innererror;
  let detail: string | undefined;
  while (isRecord(inner)) {
    if (typeof inner.message === 'string' && inner.message !== '') detail = inner.message;
    inner = inner.innererror;
  }
  return cleanMessage(detail === undefined ? error.message : `${error.message} ${detail}`);
}

function interpretStatus(response: UpstreamResponse): PollOutcome {
  const invalid = (why: string): PollOutcome => ({
    kind: 'failure',
    failure: invalidResponse(
      `Document Intelligence operation status is not the documented shape: ${why}`,
      response.status,
    ),
  });
  if (isTruncated(response)) return invalid('the body is larger than the size read.');
  const body = parseJsonObject(response.bodyText);
  if (!body) return invalid('the body is not a JSON object.');
  let upstream: Record<string, unknown>;
  try {
    upstream = validate(body);
  } catch (error: unknown) {
    if (error instanceof ShapeError) return invalid(error.message);
    throw error;
  }
  const upstreamStatus = upstream.status as string;
  const normalized = STATUSES[upstreamStatus.toLowerCase()];
  const reading: StatusReading = { status: normalized ?? 'running', upstreamStatus, upstream };
  if (normalized === undefined) reading.unknownUpstreamStatus = true;
  if (typeof upstream.percentCompleted === 'number') reading.percentComplete = upstream.percentCompleted;
  const updatedAt = parseIsoDate(upstream.lastUpdatedDateTime);
  if (updatedAt !== undefined) reading.upstreamUpdatedAt = updatedAt;
  if (reading.status === 'failed') {
    const message = failureMessage(upstream.error);
    if (message !== undefined) reading.message = message;
  }
  return { kind: 'status', reading };
}

export const documentIntelligenceModelBuildAdapter = defineKind({
  kind: 'documentIntelligence.modelBuild',
  apiVersions: ['2024-11-30', '2023-07-31'],
  identity: [segmentField('operationId')],
  // 2023-07-31 is the last Form Recognizer version: its operations live under /formrecognizer.
  route: (apiVersion) => ({
    path: `/${apiVersion === '2023-07-31' ? 'formrecognizer' : 'documentintelligence'}/operations/{operationId}`,
    query: { 'api-version': apiVersion },
  }),
  keyHeader: 'Ocp-Apim-Subscription-Key',
  allowedHosts: COGNITIVE_SERVICES_HOSTS,
  defaultBudget: { calls: 60, periodMs: 60_000 },
  orderingField: 'lastUpdatedDateTime',
  lifecycle: { shape: 'run', terminal: new Set<JobStatus>(['succeeded', 'failed', 'cancelled']) },
  // A 404's upstreamCode is the top-level `error.code` (`NotFound`); the inner `OperationNotFound` goes into the
  // message (the shared table does both).
  interpret: (response, now) =>
    response.status === 200
      ? interpretStatus(response)
      : { kind: 'failure', failure: classifyHttpError(response, now) },
});
