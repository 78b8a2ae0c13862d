/**
 * Jobs that are one run each (a fine-tuning job, a speech model build, a Custom Vision iteration), for the
 * simulated APIs of those kinds: a store keyed by the kind's identity and the phase of a run at a given time.
 */
import { createHash } from 'node:crypto';
import type { Identity } from '../../shared/model';
import { percent, validDate, validDuration, type SimulatedRun } from './types';

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

/** A store of runs keyed by the values of `fields` (the kind's identity fields, in URL order). */
export function createRunStore<Run extends SimulatedRun>(fields: readonly string[]): RunStore<Run> {
  const runs = new Map<string, { identity: Identity; run: Run }>();
  const keyOf = (identity: Identity): string => JSON.stringify(fields.map((f) => identity[f] ?? ''));
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
