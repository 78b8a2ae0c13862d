import type { Identity, JobStatus, PollOutcome } from '../model';

/** A budget: at most `calls` calls in any window of `periodMs`. */
export interface RateBudget {
  calls: number;
  periodMs: number;
  /** A long-period allowance beside it (e.g. 3000 calls a month of 30 days): calls are spread to stay within it. */
  allowance?: { calls: number; periodMs: number };
}

/** One problem with one field of a registration. `target` is the JSON property name. */
export interface FieldProblem {
  target: string;
  message: string;
}

/** The raw upstream answer, as read by `fetchUpstream` (body already capped). */
export interface UpstreamResponse {
  status: number;
  headers: Headers;
  bodyText: string;
}

/**
 * One adapter per job kind (docs/spec.md §2): builds the request, parses the body into the normalized status (§3),
 * classifies errors (§4). Pure: no I/O, no clock (the poll time is passed in).
 */
export interface JobAdapter {
  readonly kind: string;
  readonly apiVersions: readonly string[];
  readonly defaultApiVersion: string;
  /** Names of the identity fields, in the order they appear in the URL. */
  readonly identityFields: readonly string[];
  /** Header that carries the subscription key. */
  readonly keyHeader: string;
  /** Safe default budget per resource for this kind (free tier). */
  readonly defaultBudget: RateBudget;
  /**
   * Whether a job in this status is done for good (Language) or only idle (Face: can be retrained).
   * `terminal`: never polled again. `idle`: polled at the idle interval. `active`: polled at the job interval.
   */
  phase(status: JobStatus): 'active' | 'idle' | 'terminal';
  /** Validates the identity fields of a registration body; returns the identity or the problems. */
  parseIdentity(body: Readonly<Record<string, unknown>>): { identity?: Identity; problems: FieldProblem[] };
  /** The full status URL (identity values percent-encoded). `endpoint` is a normalized origin. */
  buildUrl(endpoint: string, identity: Identity, apiVersion: string): string;
  /** Turns any upstream answer into exactly one outcome. `now` resolves relative hints ("in 2.12 days"). */
  interpret(response: UpstreamResponse, now: Date): PollOutcome;
}
