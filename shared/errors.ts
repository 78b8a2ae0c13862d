/**
 * The small error model: one base class; subclasses only where a caller can act on them. `cause` is kept.
 * HTTP mapping lives in exactly one place: `shared/api/errors.ts`.
 */
export class StatusCacheError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Settings are invalid: `problems` lists every one of them. */
export class ConfigError extends StatusCacheError {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A subscription key could not be read from Key Vault (missing, forbidden, throttled, unreachable). */
export class SecretUnavailableError extends StatusCacheError {
  constructor(
    message: string,
    readonly secretName: string,
    readonly options: { cause?: unknown; httpStatus?: number; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

/** An upstream call did not produce an HTTP answer (timeout, refused, reset, aborted). */
export class UpstreamCallError extends StatusCacheError {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'connection' | 'aborted' | 'notAllowed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A continuation token (`skipToken`) that was not issued for this query: forged, garbled or reused. */
export class InvalidContinuationTokenError extends StatusCacheError {}

/**
 * A queue could not take a message (unreachable, refused, throttled, timed out or aborted): the caller keeps the
 * work it meant to hand off (a cycle leaves the job due). `httpStatus` is set when the service answered.
 * `maybeStored`: a try may have stored the message although it failed (no answer, a timeout, a 5xx), so the
 * message may still be delivered.
 */
export class QueueUnavailableError extends StatusCacheError {
  readonly httpStatus: number | undefined;
  readonly maybeStored: boolean;

  constructor(
    message: string,
    readonly queueName: string,
    options: { cause?: unknown; httpStatus?: number; maybeStored?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.httpStatus = options.httpStatus;
    this.maybeStored = options.maybeStored ?? false;
  }
}

/** A queue message that is not what its queue carries (bad JSON, missing or invalid fields). Retrying won't help. */
export class InvalidQueueMessageError extends StatusCacheError {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(message);
  }
}
