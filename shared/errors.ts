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
