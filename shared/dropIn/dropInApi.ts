/**
 * Drop-in upstream-shaped reads (docs/spec.md §13): `GET|HEAD /api/upstream/{resource}/{upstream path and query}`
 * answers what the upstream last said for the job the URL names, authorized by the upstream's own key. The cache
 * only: a job that has been polled is never called from here; a job not registered yet, on a resource that has
 * one, is registered and polled once through the budget (the refresh path), and so is a job never polled yet.
 */
import type { HttpResponseInit } from '@azure/functions';
import { newJob, jobIdOf } from '../api/registration';
import type { Clock } from '../clock';
import { SecretUnavailableError } from '../errors';
import type { Logger } from '../logger';
import type { Job } from '../model';
import { DEFAULT_POLL_INTERVAL_SECONDS } from '../poller/policy';
import { JobNotFoundError, ResourceBusyError, type KeyProvider, type Poller } from '../poller/poller';
import type { JobStore } from '../store/types';
import type { JobAdapter } from '../upstream/types';
import {
  answerEtag,
  matchesEtag,
  methodNotAllowed,
  resourceNotFound,
  serviceUnavailable,
  tooManyRequests,
  unauthorized,
} from './answers';
import type { ResourceDirectory } from './directory';
import { clientAddress, digestsMatch, keyDigest, KeyDigests, type AttemptLimiter } from './keyGuard';
import { endpointFor, parseDropInUrl, type DropInTarget } from './paths';

/** The header a caller may send instead of the kind's key header (docs/spec.md §13). */
export const FUNCTION_KEY_HEADER = 'x-functions-key';
/** How long a caller waits when the vault could not be read. */
const VAULT_RETRY_SECONDS = 30;

export interface DropInRequest {
  method: string;
  /** The absolute request URL as the host gives it. */
  url: string;
  headers: { get(name: string): string | null };
}

export interface DropInApiDeps {
  store: Pick<JobStore, 'get' | 'register'>;
  poller: Pick<Poller, 'pollNow'>;
  keys: KeyProvider;
  clock: Clock;
  adapters: readonly JobAdapter[];
  allowedUpstreamOrigins: readonly string[];
  directory: ResourceDirectory;
  attempts: AttemptLimiter;
  /** The Key Vault secret whose value is accepted as `x-functions-key`; none: the header authorizes nothing. */
  functionKeySecretName?: string;
  logger?: Logger;
}

/** What a `DropInApi` keeps between requests (shared by its `withLogger` copies): pure functions' results. */
interface DropInMemo {
  /** The digest of each secret's current key value. */
  digests: KeyDigests;
  /** `endpointFor` per kind and resource (a pure function of them and the settings). */
  endpoints: Map<string, string | undefined>;
  /** `jobIdOf` per kind, endpoint and identity (a hash of them). */
  jobIds: Map<string, string>;
  /** The ETag of each job's last answer served, with the answer it hashes (reused while the answer is the same). */
  etags: Map<string, { httpStatus: number; body: string; etag: string }>;
}

/** Entries of each memo map, at most (a map starts over when full). */
const MAX_REMEMBERED = 1_000;
/** The longest answer body whose ETag is remembered (so the ETag memo holds at most ~8 MB). */
const MAX_REMEMBERED_BODY_CHARS = 4_096;

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
  return value;
}

export class DropInApi {
  private readonly memo: DropInMemo;

  constructor(
    private readonly deps: DropInApiDeps,
    memo?: DropInMemo,
  ) {
    this.memo = memo ?? {
      digests: new KeyDigests(),
      endpoints: new Map(),
      jobIds: new Map(),
      etags: new Map(),
    };
  }

  withLogger(logger: Logger): DropInApi {
    return new DropInApi({ ...this.deps, logger }, this.memo);
  }

  async read(request: DropInRequest): Promise<HttpResponseInit> {
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(method);
    const parsed = parseDropInUrl(request.url, this.deps.adapters);
    if (!parsed.ok) return resourceNotFound();
    const { resource, target } = parsed;
    const endpoint = this.endpointOf(resource, target.adapter);
    if (endpoint === undefined) return resourceNotFound();

    const client = clientAddress(request.headers.get('x-forwarded-for'));
    const wait = this.deps.attempts.retryAfterSeconds(client);
    if (wait !== undefined) return tooManyRequests(wait);

    const id = this.jobIdFor(endpoint, target);
    const job = await this.deps.store.get(id);
    const secretNames = job ? [job.keySecretName] : await this.deps.directory.secretNamesFor(resource);
    // A resource with no registered job: nothing to authorize against, nothing to register (no upstream call).
    if (secretNames.length === 0) return resourceNotFound();

    const auth = await this.authorize(request, target.adapter, secretNames);
    if (auth.kind === 'vaultUnavailable') return serviceUnavailable(VAULT_RETRY_SECONDS);
    if (auth.kind === 'refused') {
      this.deps.attempts.fail(client);
      this.deps.logger?.warn('drop-in key refused', { resource, kind: target.adapter.kind });
      return unauthorized();
    }

    let served: Job;
    if (job && job.state.checkedAt !== null) {
      served = job;
    } else {
      // Not registered yet, or registered and never polled: polled once now, through the budget.
      const registered = job ?? (await this.registerOnTheFly(endpoint, resource, target, auth.secretName));
      const polled =
        registered.state.checkedAt !== null ? { job: registered } : await this.pollOnce(registered.id);
      if ('response' in polled) return polled.response;
      served = polled.job;
    }
    return this.answer(served, target.adapter, request.headers.get('if-none-match'));
  }

  private endpointOf(resource: string, adapter: JobAdapter): string | undefined {
    const memoKey = `${adapter.kind}\n${resource}`;
    const { endpoints } = this.memo;
    if (endpoints.has(memoKey)) return endpoints.get(memoKey);
    return remember(endpoints, memoKey, endpointFor(resource, this.deps.allowedUpstreamOrigins, adapter));
  }

  private jobIdFor(endpoint: string, target: DropInTarget): string {
    const { adapter, identity } = target;
    const memoKey = [adapter.kind, endpoint, ...adapter.identityFields.map((f) => identity[f] ?? '')].join(
      '\n',
    );
    return (
      this.memo.jobIds.get(memoKey) ??
      remember(this.memo.jobIds, memoKey, jobIdOf(adapter.kind, endpoint, identity, adapter))
    );
  }

  /**
   * Compares the presented key with every candidate key (all of them: no early exit on a match). The presented key
   * is hashed once; each vault key's digest is hashed once per value (`KeyDigests`).
   */
  private async authorize(
    request: DropInRequest,
    adapter: JobAdapter,
    secretNames: readonly string[],
  ): Promise<{ kind: 'ok'; secretName: string } | { kind: 'refused' } | { kind: 'vaultUnavailable' }> {
    const presented = request.headers.get(adapter.keyHeader);
    const functionKey = request.headers.get(FUNCTION_KEY_HEADER);
    let matched: string | undefined;
    let read = 0;
    let unavailable = 0;
    if (presented !== null && presented !== '') {
      const presentedDigest = keyDigest(presented);
      for (const name of secretNames) {
        const key = await this.readKey(name);
        if (key === undefined) {
          unavailable++;
          continue;
        }
        read++;
        const matches = digestsMatch(presentedDigest, this.memo.digests.digestOf(name, key));
        if (matches && matched === undefined) matched = name;
      }
    }
    const functionSecret = this.deps.functionKeySecretName;
    if (matched === undefined && functionKey !== null && functionKey !== '' && functionSecret !== undefined) {
      const key = await this.readKey(functionSecret);
      if (key === undefined) unavailable++;
      else {
        read++;
        const expected = this.memo.digests.digestOf(functionSecret, key);
        if (digestsMatch(keyDigest(functionKey), expected)) matched = secretNames[0];
      }
    }
    if (matched !== undefined) return { kind: 'ok', secretName: matched };
    // Nothing could be compared because the vault did not answer: not the caller's failed attempt.
    if (read === 0 && unavailable > 0) return { kind: 'vaultUnavailable' };
    return { kind: 'refused' };
  }

  private async readKey(secretName: string): Promise<string | undefined> {
    try {
      return await this.deps.keys.getKey(secretName);
    } catch (e) {
      if (e instanceof SecretUnavailableError) {
        this.deps.logger?.warn('drop-in key not readable', { secretName, error: e.message });
        return undefined;
      }
      throw e;
    }
  }

  private async registerOnTheFly(
    endpoint: string,
    resource: string,
    target: DropInTarget,
    keySecretName: string,
  ): Promise<Job> {
    const { adapter } = target;
    const job = newJob(
      {
        kind: adapter.kind,
        endpoint,
        keySecretName,
        apiVersion: target.apiVersion,
        pollIntervalSeconds: DEFAULT_POLL_INTERVAL_SECONDS,
        identity: target.identity,
      },
      adapter,
      this.deps.clock.now(),
    );
    const { job: stored, created } = await this.deps.store.register(job);
    this.deps.directory.add(resource, stored.keySecretName);
    if (created) this.deps.logger?.info('drop-in job registered', { jobId: stored.id, kind: adapter.kind });
    return stored;
  }

  /** One poll through the resource's budget (the refresh path): a slot within 5 s, or 429. */
  private async pollOnce(id: string): Promise<{ job: Job } | { response: HttpResponseInit }> {
    try {
      return { job: await this.deps.poller.pollNow(id) };
    } catch (e) {
      if (e instanceof ResourceBusyError) return { response: tooManyRequests(e.retryAfterSeconds) };
      if (e instanceof JobNotFoundError) return { response: resourceNotFound() };
      throw e;
    }
  }

  private etagOf(jobId: string, answer: { httpStatus: number; body: string }): string {
    const known = this.memo.etags.get(jobId);
    if (known !== undefined && known.httpStatus === answer.httpStatus && known.body === answer.body) {
      return known.etag;
    }
    const etag = answerEtag(answer);
    // Bodies are small (a status document); a large one is hashed each time rather than held.
    if (answer.body.length <= MAX_REMEMBERED_BODY_CHARS) {
      remember(this.memo.etags, jobId, { httpStatus: answer.httpStatus, body: answer.body, etag });
    }
    return etag;
  }

  /** The last upstream answer of `job`, with `ETag` and `Retry-After` (seconds to the next check) while it is polled. */
  private answer(job: Job, adapter: JobAdapter, ifNoneMatch: string | null): HttpResponseInit {
    const state = job.state;
    const now = this.deps.clock.now().getTime();
    const next = state.nextCheckAt === null ? NaN : Date.parse(state.nextCheckAt);
    const polled = adapter.phase(state.status) !== 'terminal' && Number.isFinite(next);
    const retryAfter = polled ? Math.max(1, Math.ceil((next - now) / 1000)) : undefined;
    const answer =
      state.lastAnswer ??
      (state.upstream !== null
        ? { httpStatus: 200, body: JSON.stringify(state.upstream), contentType: undefined }
        : undefined);
    // Registered, not answered yet (or only with transient errors): come back at the next check.
    if (answer === undefined) return tooManyRequests(retryAfter ?? VAULT_RETRY_SECONDS);
    const etag = this.etagOf(job.id, answer);
    const validators: Record<string, string> = {
      etag,
      ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
    };
    if (answer.httpStatus === 200 && ifNoneMatch !== null && matchesEtag(ifNoneMatch, etag)) {
      return { status: 304, headers: validators };
    }
    return {
      status: answer.httpStatus,
      headers: { ...validators, 'content-type': answer.contentType ?? 'application/json; charset=utf-8' },
      body: answer.body,
    };
  }
}
