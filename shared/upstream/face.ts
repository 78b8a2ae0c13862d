/**
 * `face.personGroup`: Face PersonGroup – Get Training Status (docs/spec.md §2, seed 000). A person group is a resource,
 * not a run: it can be retrained at any time, so no status is terminal (§3).
 */
import type { Identity, JobStatus, PollOutcome, StatusReading } from '../model';
import {
  classifyHttpError,
  cleanMessage,
  invalidResponse,
  isTruncated,
  parseErrorBody,
  parseJsonObject,
  safeText,
} from './classify';
import { parseFaceDate } from './faceDate';
import type { FieldProblem, JobAdapter, UpstreamResponse } from './types';

const PERSON_GROUP_ID = /^[a-z0-9_-]{1,64}$/;
const MAX_STATUS_LENGTH = 100;
/** Longest upstream message kept in `upstream` (the body may be up to 64 KiB; a Table string holds 32 K). */
const MAX_TEXT = 1000;

const FACE_STATUSES: Readonly<Record<string, JobStatus>> = {
  notstarted: 'notStarted',
  nonstarted: 'notStarted',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
};

export function parseFaceIdentity(body: Readonly<Record<string, unknown>>): {
  identity?: Identity;
  problems: FieldProblem[];
} {
  const value = body.personGroupId;
  if (value === undefined || value === null || value === '') {
    return { problems: [{ target: 'personGroupId', message: 'personGroupId is required.' }] };
  }
  if (typeof value !== 'string' || !PERSON_GROUP_ID.test(value)) {
    return {
      problems: [
        {
          target: 'personGroupId',
          message: "personGroupId must be 1 to 64 lowercase letters, digits, '-' or '_'.",
        },
      ],
    };
  }
  return { identity: { personGroupId: value }, problems: [] };
}

export function buildFaceUrl(endpoint: string, identity: Identity, apiVersion: string): string {
  const base = endpoint.replace(/\/+$/, '');
  const id = encodeURIComponent(identity.personGroupId ?? '');
  return `${base}/face/${encodeURIComponent(apiVersion)}/persongroups/${id}/training`;
}

export function facePhase(status: JobStatus): 'active' | 'idle' | 'terminal' {
  return status === 'succeeded' || status === 'failed' || status === 'notFound' ? 'idle' : 'active';
}

/** A date field: absent or null → null; a string must be a date (ISO or `1/3/2017 4:11:35 AM`). */
function dateField(
  body: Record<string, unknown>,
  name: string,
): { ok: true; value: string | null } | { ok: false } {
  const raw = body[name];
  if (raw === undefined || raw === null) return { ok: true, value: null };
  const iso = parseFaceDate(raw);
  return iso === undefined ? { ok: false } : { ok: true, value: iso };
}

function interpretStatus(response: UpstreamResponse): PollOutcome {
  const invalid = (why: string): PollOutcome => ({
    kind: 'failure',
    failure: invalidResponse(`Face training status is not the documented shape: ${why}`, response.status),
  });
  if (isTruncated(response)) return invalid('the body is larger than the size read.');
  const body = parseJsonObject(response.bodyText);
  if (!body) return invalid('the body is not a JSON object.');
  const rawStatus = body.status;
  if (typeof rawStatus !== 'string' || rawStatus.length === 0 || rawStatus.length > MAX_STATUS_LENGTH) {
    return invalid('status is not a string.');
  }
  const status = safeText(rawStatus, MAX_STATUS_LENGTH);
  const created = dateField(body, 'createdDateTime');
  if (!created.ok) return invalid('createdDateTime is not a date.');
  const lastAction = dateField(body, 'lastActionDateTime');
  if (!lastAction.ok) return invalid('lastActionDateTime is not a date.');
  const message = body.message;
  if (message !== undefined && message !== null && typeof message !== 'string') {
    return invalid('message is not a string.');
  }

  const upstream: Record<string, unknown> = {
    status,
    createdDateTime: created.value,
    lastActionDateTime: lastAction.value,
  };
  const normalized = FACE_STATUSES[status.toLowerCase()];
  const reading: StatusReading = { status: normalized ?? 'running', upstreamStatus: status, upstream };
  if (normalized === undefined) reading.unknownUpstreamStatus = true;
  if (typeof message === 'string' && message.length > 0) {
    upstream.message = safeText(message, MAX_TEXT);
    reading.message = cleanMessage(message);
  }
  if (lastAction.value !== null) reading.upstreamUpdatedAt = lastAction.value;
  return { kind: 'status', reading };
}

export function interpretFace(response: UpstreamResponse, now: Date): PollOutcome {
  if (response.status === 200) return interpretStatus(response);
  if (response.status === 404) {
    const error = parseErrorBody(response.bodyText);
    if (error.code?.toLowerCase() === 'persongroupnottrained') {
      // The seed: a group that has never been trained.
      return {
        kind: 'status',
        reading: { status: 'notStarted', upstreamStatus: 'PersonGroupNotTrained', upstream: {} },
      };
    }
  }
  return { kind: 'failure', failure: classifyHttpError(response, now) };
}

export const facePersonGroupAdapter: JobAdapter = {
  kind: 'face.personGroup',
  apiVersions: ['v1.0', 'v1.2'],
  defaultApiVersion: 'v1.0',
  identityFields: ['personGroupId'],
  keyHeader: 'Ocp-Apim-Subscription-Key',
  defaultBudget: { calls: 20, periodMs: 60_000 },
  phase: facePhase,
  parseIdentity: parseFaceIdentity,
  buildUrl: buildFaceUrl,
  interpret: interpretFace,
};
