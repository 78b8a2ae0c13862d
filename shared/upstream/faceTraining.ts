/**
 * The Face training status (docs/spec.md §2 / §3, seed 000), shared by the Face kinds: person groups, large person groups
 * and large face lists answer the same body (`status`, `createdDateTime`, `lastActionDateTime`, `message`, and
 * `lastSuccessfulTrainingDateTime` in v1.2 and for large collections) and the same errors, differing only in the
 * path segment and the codes of their 404s. A Face collection is a resource, not a run: it can be retrained at any
 * time, so no status is terminal.
 */
import type { JobStatus, PollOutcome, StatusReading } from '../model';
import {
  classifyHttpError,
  cleanMessage,
  invalidResponse,
  isTruncated,
  parseErrorBody,
  parseJsonObject,
  safeText,
} from './classify';
import { parseIsoOrUsDate } from './dates';
import { COGNITIVE_SERVICES_HOSTS } from './hosts';
import { faceIdField } from './identity';
import type { KindSpec, UpstreamResponse } from './types';

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

/** What tells one Face collection kind from another. */
export interface FaceCollection {
  kind: string;
  /** The path segment: `persongroups`, `largepersongroups`, `largefacelists`. */
  segment: string;
  /** The identity field (`personGroupId`, ...). */
  idField: string;
  /** The 404 code of a collection never trained (→ `notStarted`), e.g. `PersonGroupNotTrained`. */
  notTrainedCode: string;
}

/** A date field: absent or null → null; a string must be a date (ISO or `1/3/2017 4:11:35 AM`). */
function dateField(
  body: Record<string, unknown>,
  name: string,
): { ok: true; value: string | null } | { ok: false } {
  const raw = body[name];
  if (raw === undefined || raw === null) return { ok: true, value: null };
  const iso = parseIsoOrUsDate(raw);
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
  const lastSuccess = dateField(body, 'lastSuccessfulTrainingDateTime');
  if (!lastSuccess.ok) return invalid('lastSuccessfulTrainingDateTime is not a date.');
  const message = body.message;
  if (message !== undefined && message !== null && typeof message !== 'string') {
    return invalid('message is not a string.');
  }

  const upstream: Record<string, unknown> = {
    status,
    createdDateTime: created.value,
    lastActionDateTime: lastAction.value,
  };
  if (lastSuccess.value !== null) upstream.lastSuccessfulTrainingDateTime = lastSuccess.value;
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

/** Any answer of a Face training-status endpoint into one outcome. */
export function interpretFaceTraining(
  response: UpstreamResponse,
  now: Date,
  notTrainedCode: string,
): PollOutcome {
  if (response.status === 200) return interpretStatus(response);
  if (response.status === 404) {
    const error = parseErrorBody(response.bodyText);
    if (error.code?.toLowerCase() === notTrainedCode.toLowerCase()) {
      // The seed: a collection that has never been trained.
      return {
        kind: 'status',
        reading: { status: 'notStarted', upstreamStatus: notTrainedCode, upstream: {} },
      };
    }
  }
  return { kind: 'failure', failure: classifyHttpError(response, now) };
}

/** The spec of a Face collection kind (docs/spec.md §2: v1.0 and v1.2, the subscription key header, 20 calls a minute). */
export function faceTrainingSpec(collection: FaceCollection): KindSpec {
  return {
    kind: collection.kind,
    apiVersions: ['v1.0', 'v1.2'],
    identity: [faceIdField(collection.idField)],
    route: (apiVersion) => ({
      path: `/face/${encodeURIComponent(apiVersion)}/${collection.segment}/{${collection.idField}}/training`,
      query: {},
    }),
    keyHeader: 'Ocp-Apim-Subscription-Key',
    allowedHosts: COGNITIVE_SERVICES_HOSTS,
    defaultBudget: { calls: 20, periodMs: 60_000 },
    orderingField: 'lastActionDateTime',
    lifecycle: { shape: 'resource' },
    interpret: (response, now) => interpretFaceTraining(response, now, collection.notTrainedCode),
  };
}
