/**
 * `language.textAuthoring`: Language Text Analysis Authoring – Get Training Status (docs/spec.md §2, seed 003). A
 * training job is a run: `succeeded`, `partiallyCompleted`, `failed` and `cancelled` are terminal (§3).
 */
import {
  TERMINAL_STATUSES,
  type Identity,
  type JobStatus,
  type PollOutcome,
  type StatusReading,
} from '../model';
import {
  classifyHttpError,
  cleanMessage,
  invalidResponse,
  isRecord,
  isTruncated,
  parseJsonObject,
  safeText,
} from './classify';
import { parseIsoDate } from './faceDate';
import type { FieldProblem, JobAdapter, UpstreamResponse } from './types';

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

const IDENTITY_LIMITS: ReadonlyArray<{ name: 'projectName' | 'jobId'; max: number }> = [
  { name: 'projectName', max: 100 },
  { name: 'jobId', max: 200 },
];

const LANGUAGE_STATUSES: Readonly<Record<string, JobStatus>> = {
  notstarted: 'notStarted',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  cancelling: 'cancelling',
  partiallycompleted: 'partiallyCompleted',
};

function identityProblem(name: string, value: unknown, max: number): string | undefined {
  if (value === undefined || value === null || value === '') return `${name} is required.`;
  if (typeof value !== 'string') return `${name} must be a string.`;
  if (value.length > max) return `${name} must be at most ${max} characters.`;
  if (/[/?#%]/.test(value)) return `${name} must not contain '/', '?', '#' or '%'.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${name} must not contain control characters.`;
  if (/\p{Cs}/u.test(value)) return `${name} must be valid Unicode text.`;
  // '.' and '..' would be resolved as path segments by every URL parser.
  if (value === '.' || value === '..') return `${name} must not be '.' or '..'.`;
  return undefined;
}

export function parseLanguageIdentity(body: Readonly<Record<string, unknown>>): {
  identity?: Identity;
  problems: FieldProblem[];
} {
  const problems: FieldProblem[] = [];
  const identity: Record<string, string> = {};
  for (const { name, max } of IDENTITY_LIMITS) {
    const value = body[name];
    const problem = identityProblem(name, value, max);
    if (problem !== undefined) problems.push({ target: name, message: problem });
    else if (typeof value === 'string') identity[name] = value;
  }
  return problems.length > 0 ? { problems } : { identity, problems };
}

export function buildLanguageUrl(endpoint: string, identity: Identity, apiVersion: string): string {
  const base = endpoint.replace(/\/+$/, '');
  const project = encodeURIComponent(identity.projectName ?? '');
  const job = encodeURIComponent(identity.jobId ?? '');
  return (
    `${base}/language/authoring/analyze-text/projects/${project}/train/jobs/${job}` +
    `?api-version=${encodeURIComponent(apiVersion)}`
  );
}

export function languagePhase(status: JobStatus): 'active' | 'idle' | 'terminal' {
  if (TERMINAL_STATUSES.has(status)) return 'terminal';
  return status === 'notFound' ? 'idle' : 'active';
}

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
function validateJobState(body: Record<string, unknown>): Record<string, unknown> {
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
    const out = copyStrings(
      result,
      ['modelLabel', 'trainingConfigVersion', 'estimatedEndDateTime'],
      'result.',
    );
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

function interpretStatus(response: UpstreamResponse): PollOutcome {
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
    upstream = validateJobState(body);
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

export function interpretLanguage(response: UpstreamResponse, now: Date): PollOutcome {
  if (response.status === 200) return interpretStatus(response);
  return { kind: 'failure', failure: classifyHttpError(response, now) };
}

export const languageTextAuthoringAdapter: JobAdapter = {
  kind: 'language.textAuthoring',
  apiVersions: ['2022-05-01', '2023-04-01'],
  defaultApiVersion: '2022-05-01',
  identityFields: ['projectName', 'jobId'],
  keyHeader: 'Ocp-Apim-Subscription-Key',
  defaultBudget: { calls: 100, periodMs: 60_000 },
  phase: languagePhase,
  parseIdentity: parseLanguageIdentity,
  buildUrl: buildLanguageUrl,
  interpret: interpretLanguage,
};
