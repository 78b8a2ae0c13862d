/**
 * The Language authoring training-job status (docs/spec.md §2 / §3, seed 003), shared by the authoring kinds (custom text,
 * conversations): the same TrainingJobState body, the same seven statuses and the same `ErrorResponse`. A training
 * job is a run: `succeeded`, `partiallyCompleted`, `failed` and `cancelled` are terminal.
 */
import { TERMINAL_STATUSES, type JobStatus, type PollOutcome, type StatusReading } from '../model';
import {
  classifyHttpError,
  cleanMessage,
  invalidResponse,
  isRecord,
  isTruncated,
  parseJsonObject,
  safeText,
} from './classify';
import { parseIsoDate } from './dates';
import { COGNITIVE_SERVICES_HOSTS } from './hosts';
import { segmentField } from './identity';
import type { KindSpec, UpstreamResponse } from './types';

const MAX_STATUS_LENGTH = 100;
/** At most this many errors / warnings are kept. */
const MAX_ISSUES = 10;
/** Longest string kept; codes and names are shorter. */
const MAX_TEXT = 500;
const MAX_CODE = 100;
const MAX_NAME = 200;
/**
 * Most characters the kept body may take once serialized (the store writes it as one Table string, at most 32 K
 * characters). Warnings, then errors beyond the first, are dropped to fit.
 */
const MAX_UPSTREAM_CHARS = 16 * 1024;
/** Fields that must be ISO 8601 dates when present. */
const DATE_FIELDS: ReadonlySet<string> = new Set([
  'createdDateTime',
  'lastUpdatedDateTime',
  'expirationDateTime',
  'estimatedEndDateTime',
  'startDateTime',
  'endDateTime',
]);

const LANGUAGE_STATUSES: Readonly<Record<string, JobStatus>> = {
  notstarted: 'notStarted',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  cancelling: 'cancelling',
  partiallycompleted: 'partiallyCompleted',
};

/** Thrown inside the validator only; turned into one InvalidResponse outcome. */
class ShapeError extends Error {}

function optionalString(
  source: Record<string, unknown>,
  name: string,
  path: string,
  max: number = MAX_TEXT,
): string | undefined {
  const value = source[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ShapeError(`${path}${name} is not a string.`);
  if (DATE_FIELDS.has(name) && parseIsoDate(value) === undefined) {
    throw new ShapeError(`${path}${name} is not an ISO 8601 date.`);
  }
  return safeText(value, max);
}

function optionalObject(
  source: Record<string, unknown>,
  name: string,
  path: string,
): Record<string, unknown> | undefined {
  const value = source[name];
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new ShapeError(`${path}${name} is not an object.`);
  return value;
}

/** Copies the named optional string fields that are present. */
function copyStrings(
  source: Record<string, unknown>,
  names: readonly string[],
  path: string,
  max: number = MAX_NAME,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const value = optionalString(source, name, path, max);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** TextAnalysisAuthoringSubTrainingJobState. */
function subJobState(source: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const value = optionalObject(source, name, 'result.');
  if (value === undefined) return undefined;
  const path = `result.${name}.`;
  const out = copyStrings(value, ['startDateTime', 'endDateTime', 'status'], path, MAX_STATUS_LENGTH);
  const percent = value.percentComplete;
  if (percent !== undefined && percent !== null) {
    if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new ShapeError(`${path}percentComplete is not an integer from 0 to 100.`);
    }
    out.percentComplete = percent;
  }
  return out;
}

/** errors / warnings: arrays of `{ code, message }`; other fields dropped. */
function issues(
  source: Record<string, unknown>,
  name: 'errors' | 'warnings',
): Array<Record<string, string>> | undefined {
  const value = source[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ShapeError(`${name} is not an array.`);
  return value.slice(0, MAX_ISSUES).map((item: unknown, index) => {
    if (!isRecord(item)) throw new ShapeError(`${name}[${index}] is not an object.`);
    const out: Record<string, string> = {};
    const code = optionalString(item, 'code', `${name}[${index}].`, MAX_CODE);
    const message = optionalString(item, 'message', `${name}[${index}].`);
    if (code !== undefined) out.code = code;
    if (message !== undefined) out.message = message;
    return out;
  });
}

/** The documented TextAnalysisAuthoringTrainingJobState, known fields only. */
function validateJobState(
  body: Record<string, unknown>,
  resultFields: readonly string[],
): Record<string, unknown> {
  const status = body.status;
  if (typeof status !== 'string' || status.length === 0 || status.length > MAX_STATUS_LENGTH) {
    throw new ShapeError('status is not a string.');
  }
  const upstream: Record<string, unknown> = {
    ...copyStrings(body, ['jobId', 'createdDateTime', 'lastUpdatedDateTime', 'expirationDateTime'], ''),
    status: safeText(status, MAX_STATUS_LENGTH),
  };
  const result = optionalObject(body, 'result', '');
  if (result !== undefined) {
    const out = copyStrings(result, resultFields, 'result.');
    const training = subJobState(result, 'trainingStatus');
    if (training !== undefined) out.trainingStatus = training;
    const evaluation = subJobState(result, 'evaluationStatus');
    if (evaluation !== undefined) out.evaluationStatus = evaluation;
    upstream.result = out;
  }
  const errors = issues(body, 'errors');
  if (errors !== undefined) upstream.errors = errors;
  const warnings = issues(body, 'warnings');
  if (warnings !== undefined) upstream.warnings = warnings;
  return fitUpstream(upstream);
}

/** Drops warnings, then errors beyond the first, until the kept body fits MAX_UPSTREAM_CHARS. */
function fitUpstream(upstream: Record<string, unknown>): Record<string, unknown> {
  const lists = [upstream.warnings, upstream.errors].filter(Array.isArray);
  for (const list of lists) {
    const keep = list === upstream.errors ? 1 : 0;
    while (list.length > keep && JSON.stringify(upstream).length > MAX_UPSTREAM_CHARS) list.pop();
  }
  return upstream;
}

function interpretStatus(response: UpstreamResponse, resultFields: readonly string[]): PollOutcome {
  const invalid = (why: string): PollOutcome => ({
    kind: 'failure',
    failure: invalidResponse(
      `Language training job status is not the documented shape: ${why}`,
      response.status,
    ),
  });
  if (isTruncated(response)) return invalid('the body is larger than the size read.');
  const body = parseJsonObject(response.bodyText);
  if (!body) return invalid('the body is not a JSON object.');
  let upstream: Record<string, unknown>;
  try {
    upstream = validateJobState(body, resultFields);
  } catch (error: unknown) {
    if (error instanceof ShapeError) return invalid(error.message);
    throw error;
  }

  const upstreamStatus = upstream.status as string;
  const normalized = LANGUAGE_STATUSES[upstreamStatus.toLowerCase()];
  const reading: StatusReading = { status: normalized ?? 'running', upstreamStatus, upstream };
  if (normalized === undefined) reading.unknownUpstreamStatus = true;

  const result = isRecord(upstream.result) ? upstream.result : undefined;
  const training = result && isRecord(result.trainingStatus) ? result.trainingStatus : undefined;
  if (typeof training?.percentComplete === 'number') reading.percentComplete = training.percentComplete;
  const estimatedEnd = parseIsoDate(result?.estimatedEndDateTime);
  if (estimatedEnd !== undefined) reading.estimatedEndDateTime = estimatedEnd;
  const updatedAt = parseIsoDate(upstream.lastUpdatedDateTime);
  if (updatedAt !== undefined) reading.upstreamUpdatedAt = updatedAt;
  if (reading.status === 'failed' && Array.isArray(upstream.errors)) {
    const first: unknown = upstream.errors[0];
    if (isRecord(first) && typeof first.message === 'string' && first.message.length > 0) {
      reading.message = cleanMessage(first.message);
    }
  }
  return { kind: 'status', reading };
}

/** What tells one Language authoring kind from another. */
export interface LanguageAuthoringProject {
  kind: string;
  /** The path segment after `/language/authoring/`: `analyze-text`, `analyze-conversations`. */
  segment: string;
  /** Every api version, the default first. */
  apiVersions: readonly [string, ...string[]];
  /** The string fields of `result` kept besides the two sub-job states (`trainingMode` for conversations). */
  extraResultFields?: readonly string[];
}

/** The spec of a Language authoring kind (the subscription key header, 100 calls a minute). */
export function languageAuthoringSpec(project: LanguageAuthoringProject): KindSpec {
  const resultFields = [
    'modelLabel',
    'trainingConfigVersion',
    ...(project.extraResultFields ?? []),
    'estimatedEndDateTime',
  ];
  return {
    kind: project.kind,
    apiVersions: project.apiVersions,
    identity: [segmentField('projectName', 100), segmentField('jobId', 200)],
    route: (apiVersion) => ({
      path: `/language/authoring/${project.segment}/projects/{projectName}/train/jobs/{jobId}`,
      query: { 'api-version': apiVersion },
    }),
    keyHeader: 'Ocp-Apim-Subscription-Key',
    allowedHosts: COGNITIVE_SERVICES_HOSTS,
    defaultBudget: { calls: 100, periodMs: 60_000 },
    orderingField: 'lastUpdatedDateTime',
    lifecycle: { shape: 'run', terminal: TERMINAL_STATUSES },
    interpret: (response, now) =>
      response.status === 200
        ? interpretStatus(response, resultFields)
        : { kind: 'failure', failure: classifyHttpError(response, now) },
  };
}
