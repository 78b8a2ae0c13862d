import { createHash } from 'node:crypto';
import { JOB_ID_PATTERN, SECRET_NAME_PATTERN, type Identity, type Job, type JobRegistration } from '../model';
import { DEFAULT_POLL_INTERVAL_SECONDS, MIN_POLL_INTERVAL_SECONDS } from '../poller/policy';
import { checkUpstreamOrigin } from '../upstream/allowList';
import type { FieldProblem, JobAdapter } from '../upstream/types';
import { invalidArgument, type ErrorDetail } from './errors';
import { parseJsonObjectBody } from './jsonBody';

export const MAX_BODY_BYTES = 16 * 1024;
/**
 * Deepest JSON nesting read. A registration is one flat object; a deeper body is refused before JSON.parse, whose
 * own limit is the call stack (so the answer would depend on where it runs).
 */
export const MAX_JSON_DEPTH = 32;
/** Most problems listed in `details`: a 16 KiB body of unknown properties must not make a 200 KiB answer. */
export const MAX_ERROR_DETAILS = 20;
const MAX_POLL_INTERVAL_SECONDS = 86_400;
const COMMON_FIELDS = new Set([
  'kind',
  'endpoint',
  'keySecretName',
  'apiVersion',
  'pollIntervalSeconds',
  'displayName',
]);

export interface RegistrationContext {
  getAdapter(kind: string): JobAdapter | undefined;
  listKinds(): readonly string[];
  allowedUpstreamOrigins: readonly string[];
}

/**
 * Validates a registration body (raw text, so size and JSON errors are ours to report). Throws an
 * InvalidArgument ApiError with the first problem as `target` and every problem in `details`.
 */
export function parseRegistration(
  bodyText: string,
  contentType: string | null,
  context: RegistrationContext,
): JobRegistration {
  const input = parseJsonObjectBody(bodyText, contentType, {
    maxBytes: MAX_BODY_BYTES,
    maxDepth: MAX_JSON_DEPTH,
  });
  const kind = input.kind;
  if (typeof kind !== 'string' || kind === '') {
    throw invalidArgument(`'kind' is required: one of ${context.listKinds().join(', ')}.`, 'kind');
  }
  const adapter = context.getAdapter(kind);
  if (!adapter) {
    throw invalidArgument(
      `Unknown kind '${truncate(kind)}': use one of ${context.listKinds().join(', ')}.`,
      'kind',
    );
  }

  const problems: FieldProblem[] = [];
  for (const name of Object.keys(input)) {
    if (!COMMON_FIELDS.has(name) && !adapter.identityFields.includes(name)) {
      const owner = context
        .listKinds()
        .find((other) => context.getAdapter(other)?.identityFields.includes(name) === true);
      problems.push({
        target: truncate(name),
        message:
          owner === undefined
            ? `Unknown property '${truncate(name)}' for kind ${kind}.`
            : `Property '${name}' belongs to kind ${owner}, not to kind ${kind}.`,
      });
    }
  }

  let endpoint: string | undefined;
  if (typeof input.endpoint !== 'string') {
    problems.push({ target: 'endpoint', message: "'endpoint' is required: the resource's https origin." });
  } else {
    const check = checkUpstreamOrigin(input.endpoint, context.allowedUpstreamOrigins, adapter.allowedHosts);
    if (check.ok) endpoint = check.origin;
    else problems.push({ target: 'endpoint', message: `'endpoint' is not allowed: ${check.message}` });
  }

  if (typeof input.keySecretName !== 'string' || !SECRET_NAME_PATTERN.test(input.keySecretName)) {
    problems.push({
      target: 'keySecretName',
      message: "'keySecretName' is required: the Key Vault secret name (1-127 letters, digits or '-').",
    });
  }

  let apiVersion = adapter.defaultApiVersion;
  if (input.apiVersion !== undefined) {
    if (typeof input.apiVersion === 'string' && adapter.apiVersions.includes(input.apiVersion)) {
      apiVersion = input.apiVersion;
    } else {
      problems.push({
        target: 'apiVersion',
        message: `'apiVersion' must be one of ${adapter.apiVersions.join(', ')}.`,
      });
    }
  }

  let pollIntervalSeconds = DEFAULT_POLL_INTERVAL_SECONDS;
  if (input.pollIntervalSeconds !== undefined) {
    const v = input.pollIntervalSeconds;
    if (
      typeof v === 'number' &&
      Number.isInteger(v) &&
      v >= MIN_POLL_INTERVAL_SECONDS &&
      v <= MAX_POLL_INTERVAL_SECONDS
    ) {
      pollIntervalSeconds = v;
    } else {
      problems.push({
        target: 'pollIntervalSeconds',
        message: `'pollIntervalSeconds' must be a whole number from ${MIN_POLL_INTERVAL_SECONDS} to ${MAX_POLL_INTERVAL_SECONDS}.`,
      });
    }
  }

  let displayName: string | undefined;
  if (input.displayName !== undefined) {
    if (
      typeof input.displayName === 'string' &&
      input.displayName.length <= 200 &&
      !hasControlCharacters(input.displayName) &&
      !/\p{Cs}/u.test(input.displayName)
    ) {
      displayName = input.displayName;
    } else {
      problems.push({
        target: 'displayName',
        message: "'displayName' must be a string of at most 200 characters (printable, valid Unicode).",
      });
    }
  }

  const { identity, problems: identityProblems } = adapter.parseIdentity(input);
  problems.push(...identityProblems);

  const first = problems[0];
  if (first || !endpoint || !identity) {
    const details: ErrorDetail[] = problems.slice(0, MAX_ERROR_DETAILS).map((p) => ({
      code: 'InvalidArgument',
      message: p.message,
      target: p.target,
    }));
    throw invalidArgument(
      first?.message ?? 'The registration is not valid.',
      first?.target ?? 'body',
      details,
    );
  }
  return {
    kind,
    endpoint,
    keySecretName: input.keySecretName as string,
    apiVersion,
    pollIntervalSeconds,
    identity,
    ...(displayName !== undefined ? { displayName } : {}),
  };
}

/** A newly registered job: status `pending`, due at once. */
export function newJob(registration: JobRegistration, adapter: JobAdapter, now: Date): Job {
  const at = now.toISOString();
  return {
    ...registration,
    id: jobIdOf(registration.kind, registration.endpoint, registration.identity, adapter),
    createdAt: at,
    state: {
      status: 'pending',
      upstreamStatus: null,
      upstream: null,
      checkedAt: null,
      changedAt: at,
      nextCheckAt: at,
      lastError: null,
      consecutiveFailures: 0,
    },
  };
}

/** Stable, opaque id: the same kind + endpoint + identity fields always give the same id. */
export function jobIdOf(kind: string, endpoint: string, identity: Identity, adapter: JobAdapter): string {
  const canonical = [
    kind,
    endpoint.toLowerCase(),
    ...adapter.identityFields.map((f) => identity[f] ?? ''),
  ].join('\n');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** A job id as the API accepts it in a route (anything else is a 404 without a storage call). */
export function isJobId(value: string | undefined): value is string {
  return value !== undefined && JOB_ID_PATTERN.test(value);
}

export function hasControlCharacters(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

export function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
