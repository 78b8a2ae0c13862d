import { createHash } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Job, JobStatusRecord } from '../model';
import { JOB_STATUSES, type JobStatus } from '../model';
import type { Poller } from '../poller/poller';
import type { JobStore, StatusRead } from '../store/types';
import type { Telemetry } from '../telemetry';
import { type ApiError, invalidArgument, notFound } from './errors';
import { MAX_WAIT_SECONDS, parsePreferWait, type StatusSnapshot, type StatusWaits } from './statusWaits';
import { isJobId, newJob, MAX_BODY_BYTES, parseRegistration, type RegistrationContext } from './registration';

const DEFAULT_TOP = 50;
const MAX_TOP = 100;
/** max-age for a status that will not be polled again (terminal). */
const SETTLED_MAX_AGE_SECONDS = 300;

export interface JobsApiDeps extends RegistrationContext {
  store: JobStore;
  poller: Pick<Poller, 'pollNow' | 'withLogger'>;
  clock: Clock;
  /** Metrics (docs/spec.md §11): the age of each status served. None when absent. */
  telemetry?: Telemetry;
  /** The long-poll waiters of this process; without them `Prefer: wait` answers at once. */
  statusWaits?: Pick<StatusWaits<StatusRead>, 'waitForChange'>;
  /** Told of each job this process registers (the drop-in directory knows its resource at once). */
  onRegistered?: (job: Job) => void;
}

/** Query parameters as the functions hand them over (URLSearchParams satisfies it). */
export interface Query {
  get(name: string): string | null;
}

/** What each route does (docs/spec.md §7). Function files only parse the request and call one of these. */
export class JobsApi {
  constructor(private readonly deps: JobsApiDeps) {}

  /** The same API, with refreshes logging to `logger` (an invocation context). */
  withLogger(logger: Logger): JobsApi {
    return new JobsApi({ ...this.deps, poller: this.deps.poller.withLogger(logger) });
  }

  async register(bodyText: string, contentType: string | null, baseUrl: string): Promise<HttpResponseInit> {
    const registration = parseRegistration(bodyText, contentType, this.deps);
    const adapter = this.deps.getAdapter(registration.kind)!;
    const job = newJob(registration, adapter, this.deps.clock.now());
    const { job: stored, created } = await this.deps.store.register(job);
    this.deps.onRegistered?.(stored);
    return {
      status: created ? 201 : 200,
      headers: {
        location: `${baseUrl}/api/jobs/${stored.id}`,
        'content-type': 'application/json; charset=utf-8',
      },
      jsonBody: jobView(stored),
    };
  }

  async list(query: Query, baseUrl: string): Promise<HttpResponseInit> {
    const top = parseTop(query.get('top'));
    const status = query.get('status') ?? undefined;
    if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) {
      throw invalidArgument(`'status' must be one of ${JOB_STATUSES.join(', ')}.`, 'status');
    }
    const kind = query.get('kind') ?? undefined;
    if (kind !== undefined && !this.deps.listKinds().includes(kind)) {
      throw invalidArgument(`'kind' must be one of ${this.deps.listKinds().join(', ')}.`, 'kind');
    }
    const skipToken = query.get('skipToken') ?? undefined;
    const page = await this.deps.store.list({
      top,
      ...(status !== undefined ? { status: status as JobStatus } : {}),
      ...(kind !== undefined ? { kind } : {}),
      ...(skipToken !== undefined ? { continuationToken: skipToken } : {}),
    });
    const next = page.continuationToken
      ? nextLink(`${baseUrl}/api/jobs`, { status, kind, top: String(top), skipToken: page.continuationToken })
      : undefined;
    return json(200, { value: page.items.map(jobView), ...(next ? { nextLink: next } : {}) });
  }

  async get(id: string | undefined): Promise<HttpResponseInit> {
    return json(200, jobView(await this.load(id)));
  }

  /**
   * Reads the cache only: one point read, never an upstream call. The ETag is derived from the job row's storage
   * ETag (every write of the row changes it, and the status object is a function of the row), so a matching
   * If-None-Match answers 304 without building or serializing the status object.
   *
   * Long-poll (docs/spec.md §7): with `Prefer: wait=N` and an If-None-Match that matches, the answer waits until
   * the ETag changes (200) or N seconds pass (304), N at most 200; `Preference-Applied` says the wait applied.
   */
  async getStatus(
    id: string | undefined,
    ifNoneMatch: string | null,
    options: { prefer?: string | null; abortSignal?: AbortSignal } = {},
  ): Promise<HttpResponseInit> {
    if (!isJobId(id)) throw jobNotFound(id);
    const read = await this.deps.store.getStatus(id);
    if (!read) throw jobNotFound(id);
    const served = renderedStatus(read);
    const current = served.snapshot;
    const asked = ifNoneMatch === null ? undefined : parsePreferWait(options.prefer ?? null);
    if (asked === undefined || ifNoneMatch === null) return this.statusResponse(served, ifNoneMatch);
    const waitSeconds = Math.min(asked, MAX_WAIT_SECONDS);
    const applied = { 'preference-applied': `wait=${waitSeconds}` };
    const waits = this.deps.statusWaits;
    if (waitSeconds === 0 || !waits || !matchesEtag(ifNoneMatch, current.etag) || ifNoneMatch.trim() === '*')
      return this.statusResponse(served, ifNoneMatch, applied);
    let outcome;
    try {
      outcome = await waits.waitForChange(id, current, waitSeconds * 1000, options.abortSignal);
    } catch (error) {
      // The client went away: nothing will read the answer, and it is no fault of the service.
      if (options.abortSignal?.aborted) return this.statusResponse(served, ifNoneMatch, applied);
      throw error;
    }
    if (outcome.kind === 'deleted') throw jobNotFound(id);
    return this.statusResponse(renderedStatus(outcome.snapshot.value), ifNoneMatch, applied);
  }

  private statusResponse(
    served: RenderedStatus,
    ifNoneMatch: string | null,
    extraHeaders: Record<string, string> = {},
  ): HttpResponseInit {
    const { etag, nextCheckAt, value: read } = served.snapshot;
    const now = this.deps.clock.now().getTime();
    // The age of what is served, from the row in hand: no extra read. (A type-only import of the telemetry
    // module: importing the app, which loads this file, does not load @opentelemetry/api.)
    if (!Number.isNaN(served.checkedAt)) {
      this.deps.telemetry?.statusRead((now - served.checkedAt) / 1000, { kind: read.job.kind });
    }
    const maxAge =
      nextCheckAt !== undefined
        ? Math.max(0, Math.floor((nextCheckAt - now) / 1000))
        : SETTLED_MAX_AGE_SECONDS;
    if (ifNoneMatch !== null && matchesEtag(ifNoneMatch, etag)) {
      // RFC 9110 §15.4.5: a 304 carries the validators and caching fields, not the representation's metadata.
      return { status: 304, headers: { etag, 'cache-control': `max-age=${maxAge}`, ...extraHeaders } };
    }
    return {
      status: 200,
      headers: {
        etag,
        'cache-control': `max-age=${maxAge}`,
        'last-modified': served.lastModified,
        'content-type': 'application/json; charset=utf-8',
        ...extraHeaders,
      },
      body: (served.body ??= JSON.stringify(statusView(read.job))),
    };
  }

  async history(id: string | undefined, query: Query, baseUrl: string): Promise<HttpResponseInit> {
    const job = await this.load(id);
    const top = parseTop(query.get('top'));
    const skipToken = query.get('skipToken') ?? undefined;
    const page = await this.deps.store.listHistory(job.id, {
      top,
      ...(skipToken !== undefined ? { continuationToken: skipToken } : {}),
    });
    const next = page.continuationToken
      ? nextLink(`${baseUrl}/api/jobs/${job.id}/history`, {
          top: String(top),
          skipToken: page.continuationToken,
        })
      : undefined;
    return json(200, { value: page.items, ...(next ? { nextLink: next } : {}) });
  }

  async refresh(id: string | undefined): Promise<HttpResponseInit> {
    if (!isJobId(id)) throw jobNotFound(id);
    const job = await this.deps.poller.pollNow(id);
    return json(200, statusView(job));
  }

  async delete(id: string | undefined): Promise<HttpResponseInit> {
    if (isJobId(id)) await this.deps.store.delete(id);
    return { status: 204 };
  }

  async health(): Promise<HttpResponseInit> {
    try {
      const last = await this.deps.store.getCycleSummary();
      return json(200, {
        status: last === undefined ? 'starting' : last.errors > 0 ? 'degraded' : 'healthy',
        lastCycle: last ?? null,
      });
    } catch {
      return json(503, { status: 'unhealthy', lastCycle: null });
    }
  }

  private async load(id: string | undefined): Promise<Job> {
    if (!isJobId(id)) throw jobNotFound(id);
    const job = await this.deps.store.get(id);
    if (!job) throw jobNotFound(id);
    return job;
  }
}

/** What `readBodyText` needs from a request (`HttpRequest` of @azure/functions satisfies it). */
export interface BodySource {
  headers: { get(name: string): string | null };
  body: ReadableStream<Uint8Array> | null;
}

/**
 * Reads a request body as UTF-8 text, at most `maxBytes` (default the registration cap, 16 KiB): a declared
 * `Content-Length` over the cap is refused before anything is read, and the stream is abandoned as soon as it
 * passes the cap. `request.text()` would buffer whatever the front end lets through (100 MB on Azure Functions).
 */
export async function readBodyText(request: BodySource, maxBytes: number = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = (): ApiError =>
    invalidArgument(`The request body is larger than ${maxBytes} bytes.`, 'body');
  const declared = request.headers.get('content-length')?.trim();
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw tooLarge();
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  // As `request.text()` reads it: UTF-8, a leading byte order mark dropped, invalid bytes replaced.
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}

function jobNotFound(id: string | undefined): ApiError {
  return notFound(isJobId(id) ? `Job ${id} does not exist.` : 'No job has that id.', 'id');
}

export function parseTop(value: string | null): number {
  if (value === null) return DEFAULT_TOP;
  const top = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(top >= 1 && top <= MAX_TOP))
    throw invalidArgument(`'top' must be a whole number from 1 to ${MAX_TOP}.`, 'top');
  return top;
}

export function nextLink(base: string, params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, value);
  return `${base}?${search.toString()}`;
}

/** One status read of the job, with its status ETag and when it is polled next: what a long-poll waiter reads. */
export async function readStatusSnapshot(
  store: Pick<JobStore, 'getStatus'>,
  id: string,
): Promise<StatusSnapshot<StatusRead> | undefined> {
  const read = await store.getStatus(id);
  return read && renderedStatus(read).snapshot;
}

/**
 * What every answer from one status read shares: its snapshot (status ETag, next poll), when it was checked (ms,
 * NaN if never), its Last-Modified, and its JSON body once a 200 has needed it.
 */
interface RenderedStatus {
  snapshot: StatusSnapshot<StatusRead>;
  checkedAt: number;
  lastModified: string;
  body: string | undefined;
}

/**
 * Kept per frozen read: the store hands out the same frozen read while a job's row is unchanged and read again, so
 * a job that many apps watch is rendered once per change, not once per request. A read that is not frozen may be
 * changed by its holder, and is most often read once: it is rendered each time and not kept.
 */
const rendered = new WeakMap<StatusRead, RenderedStatus>();

function renderedStatus(read: StatusRead): RenderedStatus {
  let served = rendered.get(read);
  if (served === undefined) {
    const { job } = read;
    const { checkedAt, changedAt, nextCheckAt } = job.state;
    const next = nextCheckAt ? Date.parse(nextCheckAt) : NaN;
    served = {
      snapshot: {
        etag: statusEtag(job, read.etag),
        nextCheckAt: Number.isFinite(next) ? next : undefined,
        pollIntervalMs: job.pollIntervalSeconds * 1000,
        value: read,
      },
      checkedAt: checkedAt ? Date.parse(checkedAt) : NaN,
      lastModified: new Date(checkedAt ?? changedAt).toUTCString(),
      body: undefined,
    };
    if (Object.isFrozen(read)) rendered.set(read, served);
  }
  return served;
}

/** A Table storage ETag: `W/"datetime'2024-05-01T10%3A00%3A00.1234567Z'"`, new on every write of the row. */
const TABLE_ETAG = /^W\/"datetime'([0-9A-Za-z%.:-]{1,64})'"$/;

/**
 * The status ETag. From the job row's storage ETag when the store gives one in the usual shape (no hashing: the
 * hot path stays cheap), qualified by the job id; else a hash of the status object.
 */
function statusEtag(job: JobStatusRecord, storageEtag: string | undefined): string {
  const stamp = storageEtag === undefined ? null : TABLE_ETAG.exec(storageEtag);
  if (stamp) return `"${job.id.slice(0, 8)}-${stamp[1]!}"`;
  const source = storageEtag !== undefined ? `${job.id}|${storageEtag}` : JSON.stringify(statusView(job));
  return `"${createHash('sha1').update(source).digest('base64url').slice(0, 22)}"`;
}

function matchesEtag(header: string, etag: string): boolean {
  if (header === etag) return true;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}

export function json(status: number, body: unknown): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, jsonBody: body };
}

/** The status object (docs/spec.md §7). */
export function statusView(job: JobStatusRecord): Record<string, unknown> {
  const s = job.state;
  return {
    id: job.id,
    kind: job.kind,
    status: s.status,
    upstreamStatus: s.upstreamStatus,
    ...(s.percentComplete !== undefined ? { percentComplete: s.percentComplete } : {}),
    ...(s.estimatedEndDateTime !== undefined ? { estimatedEndDateTime: s.estimatedEndDateTime } : {}),
    ...(s.upstreamUpdatedAt !== undefined ? { upstreamUpdatedAt: s.upstreamUpdatedAt } : {}),
    ...(s.message !== undefined ? { message: s.message } : {}),
    upstream: s.upstream,
    checkedAt: s.checkedAt,
    changedAt: s.changedAt,
    nextCheckAt: s.nextCheckAt,
    lastError: s.lastError,
  };
}

/** The job: registration fields + the status object. Never a key, only the secret's name. */
export function jobView(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    kind: job.kind,
    endpoint: job.endpoint,
    ...job.identity,
    keySecretName: job.keySecretName,
    apiVersion: job.apiVersion,
    pollIntervalSeconds: job.pollIntervalSeconds,
    ...(job.displayName !== undefined ? { displayName: job.displayName } : {}),
    createdAt: job.createdAt,
    status: statusView(job),
  };
}
