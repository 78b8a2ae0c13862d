/**
 * The interface between the upstream simulator's server (`dev/upstreamSimulator.ts`: keys, rate limit, faults,
 * call records) and the simulated API of each kind (`dev/simulator/<kind>.ts`), plus the helpers they share.
 * Adding a kind to the simulator = one file implementing `SimulatedApi` + one line in `dev/simulator/registry.ts`.
 */
import { createHash } from 'node:crypto';
import type { Identity } from '../../shared/model';
import type { JobAdapter } from '../../shared/upstream/types';

/** An answer of the simulator: HTTP, or no answer at all (injected hang or reset). */
export type Answer =
  | { type: 'http'; status: number; headers: Record<string, string>; body: string }
  | { type: 'hang' }
  | { type: 'reset' };

/** A request that passed the key and rate-limit checks, routed to the API that owns its path. */
export interface SimulatedRequest {
  method: string;
  /** The request target (path still percent-encoded). */
  url: URL;
  /** Simulator clock at arrival. */
  nowMs: number;
  /** The simulator's own origin (`http://127.0.0.1:PORT`), for the URLs an answer names (operation locations). */
  origin: string;
}

/** The outcome of a generic run (`SimulatedApi.addJob`). Resource kinds (Face) have no `cancelled`. */
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled';

/**
 * A kind-neutral training run, for tests, benchmarks and the demo that cover every kind: the job exists from
 * `createdAt`, waits (`notStarted`) until `startAt`, runs for `durationMs`, then ends in `outcome`.
 */
export interface SimulatedRun {
  createdAt: Date;
  startAt: Date;
  durationMs: number;
  outcome: RunOutcome;
}

/** A ready-made upstream error answer (status, headers, body as the real service sends it). */
export interface ErrorAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string | object;
}

/**
 * The docs/spec.md §4 error answers of one kind, as its service sends them, for tests that cover every kind. Each is an
 * `injectFault` response. `rateLimited` carries the kind's own body hint (no `Retry-After` header), and
 * `rateLimitedHintMs` is the wait it states.
 */
export interface KindErrorAnswers {
  unauthorized: ErrorAnswer;
  quotaExceeded: ErrorAnswer;
  forbidden: ErrorAnswer;
  notFound: ErrorAnswer;
  conflict: ErrorAnswer;
  rateLimited: ErrorAnswer;
  rateLimitedHintMs: number;
  serverError: ErrorAnswer;
}

/**
 * One simulated upstream API (one kind). Its state lives in the instance; `createApi` in the registry makes a new
 * one for every simulator. `extension` is merged into the simulator object: the kind's own setup methods
 * (`addFaceGroup`, ...) for tests that need more than a generic run.
 */
export interface SimulatedApi<Extension extends object = object> {
  /** The kind's adapter: its kind name, key header and api versions. */
  readonly adapter: JobAdapter;
  /** Whether this API serves `pathname` (any api version); its calls are recorded with this kind. */
  owns(pathname: string): boolean;
  /** The body of the 401 for a missing or wrong key. */
  unauthorizedBody(): object;
  /** The 429 body when the resource's rate limit is hit (`Retry-After` is added by the server). */
  rateLimitedBody(waitSeconds: number): object;
  /** The answer to an authorized request within the rate limit. */
  answer(request: SimulatedRequest): Answer;
  /** Adds a job following a generic run. */
  addJob(identity: Identity, run: SimulatedRun): void;
  removeJob(identity: Identity): void;
  /** A valid identity made from `seed` (distinct seeds give distinct identities). */
  sampleIdentity(seed: string): Identity;
  /** Adds this kind's demo job(s) for `npm start`: they move through their statuses within two minutes. */
  addDemoJobs(now: Date): Identity[];
  /** The kind's docs/spec.md §4 error answers. */
  readonly errors: KindErrorAnswers;
  readonly extension: Extension;
}

export function json(status: number, body: string | object, headers: Record<string, string> = {}): Answer {
  return {
    type: 'http',
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function validDate(d: Date, what: string): number {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new Error(`${what} is not a valid date`);
  return ms;
}

export function validDuration(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`${what} must be a finite number >= 0`);
  return ms;
}

/** 0 → 100 linearly over `durationMs` from `fromMs`, whole percent. */
export function percent(fromMs: number, durationMs: number, nowMs: number): number {
  if (nowMs <= fromMs) return 0;
  if (durationMs <= 0 || nowMs >= fromMs + durationMs) return 100;
  return Math.min(100, Math.max(0, Math.floor(((nowMs - fromMs) * 100) / durationMs)));
}

export function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** Whole seconds: `2022-04-18T15:44:44Z`. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Seven fractional digits (.NET ticks): `2022-04-18T15:45:06.8190649Z`. */
export function isoTicks(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** The US form some services document beside ISO (UTC): `1/3/2017 4:11:35 AM`. */
export function formatUsDate(d: Date): string {
  const h24 = d.getUTCHours();
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ` +
    `${h12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${h24 < 12 ? 'AM' : 'PM'}`
  );
}

/** A route regexp from a kind's path template, any api version in the path: `{field}` → one segment. */
export function routePattern(template: string): RegExp {
  const escaped = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${escaped}/?$`);
}

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const DAY_MS = 24 * 60 * MINUTE_MS;

/** A Face-style id from any seed: lowercase letters, digits, `-`, `_`, at most 64. */
export function sampleFaceId(seed: string): string {
  const id = seed
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 64);
  return id === '' ? 'id' : id;
}

/** A GUID derived from any seed (the same seed, the same GUID). */
export function sampleGuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
