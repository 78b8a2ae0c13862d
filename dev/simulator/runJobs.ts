/**
 * Jobs that are one run each (a fine-tuning job, a speech model build, a Custom Vision iteration), for the
 * simulated APIs of those kinds: a store keyed by the kind's identity and the phase of a run at a given time.
 */
import { createHash } from 'node:crypto';
import type { Identity } from '../../shared/model';
import type { JobAdapter } from '../../shared/upstream/types';
import { GATEWAY_UNAUTHORIZED } from './gateway';
import {
  percent,
  validDate,
  validDuration,
  type Answer,
  type KindErrorAnswers,
  type SimulatedApi,
  type SimulatedRequest,
  type SimulatedRun,
} from './types';

/** Where a run stands at one instant. */
export type RunPhase =
  | { phase: 'absent' }
  | { phase: 'waiting' }
  | { phase: 'running'; percent: number }
  | { phase: 'ended'; outcome: SimulatedRun['outcome']; endMs: number };

export function runPhase(run: SimulatedRun, nowMs: number): RunPhase {
  const startMs = run.startAt.getTime();
  const endMs = startMs + run.durationMs;
  if (nowMs < run.createdAt.getTime()) return { phase: 'absent' };
  if (nowMs < startMs) return { phase: 'waiting' };
  if (nowMs < endMs) return { phase: 'running', percent: percent(startMs, run.durationMs, nowMs) };
  return { phase: 'ended', outcome: run.outcome, endMs };
}

/** A GUID made from `seed` (the same seed, the same GUID), for kinds whose identity fields are GUIDs. */
export function guidFromSeed(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Unix seconds, as Azure OpenAI sends its times. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export interface RunStore<Run extends SimulatedRun> {
  add(identity: Identity, run: Run): void;
  remove(identity: Identity): void;
  get(identity: Identity): Run | undefined;
  /** Every stored run with its identity. */
  entries(): Array<[Identity, Run]>;
}

/**
 * A store of runs keyed by the values of `fields` (the kind's identity fields, in URL order), compared
 * case-insensitively when `caseInsensitive` (GUIDs).
 */
export function createRunStore<Run extends SimulatedRun>(
  fields: readonly string[],
  caseInsensitive = false,
): RunStore<Run> {
  const runs = new Map<string, { identity: Identity; run: Run }>();
  const keyOf = (identity: Identity): string =>
    JSON.stringify(
      fields.map((f) => (caseInsensitive ? (identity[f] ?? '').toLowerCase() : (identity[f] ?? ''))),
    );
  return {
    add: (identity, run) => {
      for (const field of fields) {
        if (!identity[field]) throw new Error(`${field} must not be empty`);
      }
      const createdMs = validDate(run.createdAt, 'createdAt');
      if (validDate(run.startAt, 'startAt') < createdMs)
        throw new Error('startAt must not be before createdAt');
      validDuration(run.durationMs, 'durationMs');
      runs.set(keyOf(identity), { identity: { ...identity }, run: { ...run } });
    },
    remove: (identity) => {
      runs.delete(keyOf(identity));
    },
    get: (identity) => runs.get(keyOf(identity))?.run,
    entries: () => [...runs.values()].map(({ identity, run }) => [identity, run]),
  };
}

/** What differs between the simulated APIs of single-run kinds; `createRunApi` builds the rest. */
export interface RunApiSpec<Run extends SimulatedRun, Extension extends object> {
  adapter: JobAdapter;
  /** The kind's status path, any api version. */
  route: RegExp;
  /** Identity values compared case-insensitively (GUIDs). */
  caseInsensitive?: boolean;
  /** The 429 body (the server adds `Retry-After`). */
  rateLimitedBody(waitSeconds: number): object;
  /** The answer to an authorized request within the rate limit, over the kind's runs. */
  answer(request: SimulatedRequest, store: RunStore<Run>): Answer;
  sampleIdentity(seed: string): Identity;
  /** The demo job: waits `waitMs`, runs `runMs`, then succeeds. */
  demo: { identity: Identity; waitMs: number; runMs: number };
  errors: KindErrorAnswers;
  extend(store: RunStore<Run>): Extension;
}

/** A simulated API for a kind whose jobs are one run each; its 401 is the gateway's. */
export function createRunApi<Run extends SimulatedRun, Extension extends object>(
  spec: RunApiSpec<Run, Extension>,
): SimulatedApi<Extension> {
  const store = createRunStore<Run>(spec.adapter.identityFields, spec.caseInsensitive);
  return {
    adapter: spec.adapter,
    owns: (pathname) => spec.route.test(pathname),
    unauthorizedBody: () => GATEWAY_UNAUTHORIZED,
    rateLimitedBody: (waitSeconds) => spec.rateLimitedBody(waitSeconds),
    answer: (request) => spec.answer(request, store),
    // A generic run is a run of the kind without its optional details.
    addJob: (identity, run) => store.add(identity, run as Run),
    removeJob: (identity) => store.remove(identity),
    sampleIdentity: (seed) => spec.sampleIdentity(seed),
    addDemoJobs: (now) => {
      const { identity, waitMs, runMs } = spec.demo;
      const startAt = new Date(now.getTime() + waitMs);
      store.add(identity, { createdAt: now, startAt, durationMs: runMs, outcome: 'succeeded' } as Run);
      return [identity];
    },
    errors: spec.errors,
    extension: spec.extend(store),
  };
}
