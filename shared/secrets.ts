/**
 * `KeyClient`, the in-memory subscription-key cache in front of the vault client (docs/spec.md §6). Secret values
 * never appear in messages, errors or logs.
 */
import type { Clock } from './clock';
import { SecretUnavailableError } from './errors';
import { SECRET_NAME_PATTERN } from './model';
import { retryAfterFromHeaders } from './upstream/retryAfter';
import { VaultThrottledError } from './vaultClient';

/** What `KeyClient` needs from a vault client; `SecretClient` satisfies it. */
export interface SecretReader {
  getSecret(name: string, options?: { abortSignal?: AbortSignal }): Promise<{ value?: string }>;
}

export interface KeyClientOptions {
  /** How long a key is served from memory (docs/spec.md §6: default 5 min). */
  ttlMs: number;
  clock: Clock;
  /** How long a failed read is remembered (default 30 s; a Retry-After from the vault wins). */
  failureTtlMs?: number;
  /** A vault read that takes longer is abandoned (default 10 s). Real time, not the clock. */
  readTimeoutMs?: number;
  /** A refused key read from the vault less than this ago is not read again (default 30 s); see `refusedKey`. */
  rereadAfterMs?: number;
  /**
   * When the vault cannot be read (throttled, failing, unreachable, timed out), a key whose TTL has run out is
   * still served for this long after its TTL (default 1 h): a vault outage does not stop jobs whose key is known.
   * Never after the vault refused access (401/403) or lost the secret (404), nor a key the upstream refused.
   */
  staleIfErrorMs?: number;
}

export interface GetKeyOptions {
  /** Read from the vault even when a key (or a failure) is cached: after an upstream 401 (rotation). */
  bypassCache?: boolean;
  /**
   * With `bypassCache`: the key the upstream refused. When the cache already holds another key (a concurrent
   * re-read got the rotated one), or holds this very key read from the vault less than `rereadAfterMs` ago (the
   * vault has nothing newer yet), that key is returned without reading the vault again: one re-read per rotation,
   * not one per refused call.
   */
  refusedKey?: string;
  /** Stops this caller waiting (rejects with the signal's reason); a shared vault read goes on for the others. */
  abortSignal?: AbortSignal;
}

export const DEFAULT_FAILURE_TTL_MS = 30_000;
export const DEFAULT_REREAD_AFTER_MS = 30_000;
export const DEFAULT_STALE_IF_ERROR_MS = 60 * 60_000;
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

interface CachedKey {
  value: string;
  expiresAtMs: number;
  readAtMs: number;
  /** Set when this read was made because the upstream refused that key value (rotation). */
  rereadFor?: string;
}
interface RememberedFailure {
  error: SecretUnavailableError;
  untilMs: number;
  /** The vault could not answer (throttled, 5xx, unreachable, timeout): the last good key may still be served. */
  transient: boolean;
}

/**
 * Subscription keys from Key Vault, cached in memory for `ttlMs`. Concurrent reads of one secret share one vault
 * read (also when bypassing the cache), so under load there is at most one vault read per secret per TTL.
 * Every failure is a `SecretUnavailableError` naming the secret (never a value) and is remembered for a while, so
 * a dead or throttled vault is not hammered; a `bypassCache` read still goes through.
 */
export class KeyClient {
  private readonly keys = new Map<string, CachedKey>();
  private readonly failures = new Map<string, RememberedFailure>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly failureTtlMs: number;
  private readonly readTimeoutMs: number;

  constructor(
    private readonly reader: SecretReader,
    private readonly options: KeyClientOptions,
  ) {
    this.failureTtlMs = options.failureTtlMs ?? DEFAULT_FAILURE_TTL_MS;
    this.readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  }

  async getKey(name: string, options: GetKeyOptions = {}): Promise<string> {
    options.abortSignal?.throwIfAborted();
    if (!SECRET_NAME_PATTERN.test(name)) {
      throw new SecretUnavailableError(
        'A Key Vault secret name must be 1-127 characters of a-z, A-Z, 0-9 and -',
        name.slice(0, 127),
      );
    }
    const now = this.nowMs();
    if (options.bypassCache === true) {
      const cached = this.keys.get(name);
      const refused = options.refusedKey;
      if (refused !== undefined && cached !== undefined && now < cached.expiresAtMs) {
        // Rotation already seen by a concurrent caller: no second read.
        if (cached.value !== refused) return cached.value;
        // The vault was already re-read because of this very refusal and still holds the same key: wait a while.
        const sinceRead = now - cached.readAtMs;
        if (
          cached.rereadFor === refused &&
          sinceRead < (this.options.rereadAfterMs ?? DEFAULT_REREAD_AFTER_MS)
        ) {
          return cached.value;
        }
      }
      // The caller was refused with the cached key: it is not served again.
      this.keys.delete(name);
    } else {
      const cached = this.keys.get(name);
      if (cached !== undefined && now < cached.expiresAtMs) return cached.value;
      const failure = this.failures.get(name);
      if (failure !== undefined && now < failure.untilMs) {
        const stale = failure.transient ? this.staleKey(name, now) : undefined;
        if (stale !== undefined) return stale;
        throw rethrowable(failure, now);
      }
    }
    let read = this.inFlight.get(name);
    if (read === undefined) {
      read = this.readFromVault(name, options.bypassCache === true ? options.refusedKey : undefined);
      this.inFlight.set(name, read);
    }
    return waitFor(read, options.abortSignal);
  }

  /** Forgets the cached key and any remembered failure for `name`. */
  invalidate(name: string): void {
    this.keys.delete(name);
    this.failures.delete(name);
  }

  private async readFromVault(name: string, rereadFor?: string): Promise<string> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('timeout')), this.readTimeoutMs);
    try {
      let secret: { value?: string };
      try {
        // Raced, not only signalled: a reader that ignores the signal must not hold the callers.
        secret = await Promise.race([
          this.reader.getSecret(name, { abortSignal: timeout.signal }),
          new Promise<never>((_resolve, reject) => {
            timeout.signal.addEventListener('abort', () => reject(timeout.signal.reason as Error), {
              once: true,
            });
          }),
        ]);
      } catch (e: unknown) {
        throw toSecretUnavailable(name, e, timeout.signal.aborted ? this.readTimeoutMs : undefined);
      }
      const value = secret.value;
      if (value === undefined || value === '') {
        const empty = new SecretUnavailableError(
          `Key Vault secret "${name}" is unavailable: it has an empty value`,
          name,
        );
        permanentFailures.add(empty);
        throw empty;
      }
      this.failures.delete(name);
      const readAtMs = this.nowMs();
      this.keys.set(name, {
        value,
        expiresAtMs: readAtMs + this.options.ttlMs,
        readAtMs,
        ...(rereadFor !== undefined ? { rereadFor } : {}),
      });
      return value;
    } catch (e: unknown) {
      const error = e instanceof SecretUnavailableError ? e : toSecretUnavailable(name, e, undefined);
      const rememberMs = error.options.retryAfterMs ?? this.failureTtlMs;
      const transient = isTransient(error);
      this.failures.set(name, { error, untilMs: this.nowMs() + rememberMs, transient });
      // The vault could not answer: the last good key goes on serving (a bypass read had dropped it already).
      const stale = transient ? this.staleKey(name, this.nowMs()) : undefined;
      if (stale !== undefined) return stale;
      this.keys.delete(name);
      throw error;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(name);
    }
  }

  /** The last good key, when its TTL ended less than `staleIfErrorMs` ago. */
  private staleKey(name: string, nowMs: number): string | undefined {
    const cached = this.keys.get(name);
    const grace = this.options.staleIfErrorMs ?? DEFAULT_STALE_IF_ERROR_MS;
    return cached !== undefined && nowMs < cached.expiresAtMs + grace ? cached.value : undefined;
  }

  private nowMs(): number {
    return this.options.clock.now().getTime();
  }
}

/** Failures that say the secret is not to be used (as opposed to a vault that could not answer). */
const permanentFailures = new WeakSet<SecretUnavailableError>();

/** The vault could not answer: throttled (429), failing (5xx), unreachable, timed out, or no token. */
function isTransient(error: SecretUnavailableError): boolean {
  if (permanentFailures.has(error)) return false;
  const status = error.options.httpStatus;
  return status === undefined || status === 429 || status >= 500;
}

/** A remembered failure, thrown again with the time still to wait when the vault gave one. */
function rethrowable(failure: RememberedFailure, nowMs: number): SecretUnavailableError {
  const { error } = failure;
  if (error.options.retryAfterMs === undefined) return error;
  return new SecretUnavailableError(error.message, error.secretName, {
    ...error.options,
    retryAfterMs: Math.max(0, failure.untilMs - nowMs),
  });
}

function waitFor<T>(promise: Promise<T>, abortSignal: AbortSignal | undefined): Promise<T> {
  if (abortSignal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortSignal.reason as Error);
    abortSignal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        abortSignal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        abortSignal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

interface RestErrorLike {
  name: string;
  message: string;
  statusCode?: number;
  code?: string;
  response?: { headers: { get(name: string): string | undefined } };
}

/** `isRestError` without importing @azure/core-rest-pipeline (not a direct dependency): the SDK's own check. */
function isRestErrorLike(e: unknown): e is RestErrorLike {
  return e instanceof Error && e.name === 'RestError';
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
]);

/** Maps whatever a vault read threw to a `SecretUnavailableError`: the reason and status, never a value. */
function toSecretUnavailable(
  name: string,
  e: unknown,
  timedOutAfterMs: number | undefined,
): SecretUnavailableError {
  const fail = (
    reason: string,
    extra: { httpStatus?: number; retryAfterMs?: number } = {},
  ): SecretUnavailableError =>
    new SecretUnavailableError(`Key Vault secret "${name}" is unavailable: ${reason}`, name, {
      cause: e,
      ...extra,
    });

  if (timedOutAfterMs !== undefined) return fail(`the vault did not answer within ${timedOutAfterMs} ms`);
  if (e instanceof VaultThrottledError) {
    return fail(`throttled by the vault (${e.statusCode})`, {
      httpStatus: e.statusCode,
      retryAfterMs: e.retryAfterMs,
    });
  }
  if (isRestErrorLike(e)) {
    const status = e.statusCode;
    const code = typeof e.code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(e.code) ? ` ${e.code}` : '';
    if (status === undefined) return fail(`the vault could not be reached${code}`);
    const retryAfterMs =
      e.response === undefined
        ? undefined
        : retryAfterFromHeaders((h) => e.response?.headers.get(h), new Date());
    const extra = { httpStatus: status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    if (status === 404) return fail(`the secret does not exist (404${code})`, extra);
    if (status === 403) return fail(`access is forbidden (403${code})`, extra);
    if (status === 401) return fail(`the vault refused the identity (401${code})`, extra);
    if (status === 429) return fail(`throttled by the vault (429${code})`, extra);
    if (status >= 500) return fail(`the vault failed (${status}${code})`, extra);
    return fail(`unexpected answer from the vault (${status}${code})`, extra);
  }
  if (e instanceof Error && CREDENTIAL_ERRORS.has(e.name)) {
    return fail(`no token for the vault (${e.name})`);
  }
  if (e instanceof Error && e.name === 'AbortError') return fail('the read was aborted');
  return fail('the read failed');
}
