import { StatusCacheError } from '../errors';

/** The resource of a job is paused or out of budget: the caller may come back at `retryAt`. */
export class ResourceBusyError extends StatusCacheError {
  readonly retryAfterSeconds: number;
  constructor(
    readonly resource: string,
    readonly retryAt: Date,
    now: Date,
  ) {
    super(
      `The upstream resource ${resource} is paused or at its call budget until ${retryAt.toISOString()}.`,
    );
    this.retryAfterSeconds = Math.max(1, Math.ceil((retryAt.getTime() - now.getTime()) / 1000));
  }
}

/** The job does not exist (any more). */
export class JobNotFoundError extends StatusCacheError {}
