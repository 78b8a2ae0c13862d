/**
 * Shared pieces of the benchmark suite: the figure type the table is printed from, latency statistics, seeding
 * helpers and worker processes (the closed-loop load generator is in ./load). Nothing here is product code.
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../dev/virtualClock';
import { newJob as buildNewJob } from '../shared/api/registration';
import { APP_ENVIRONMENT } from '../shared/config';
import type { Identity, Job } from '../shared/model';
import type { JobStore } from '../shared/store/types';
import { getAdapter } from '../shared/upstream/registry';

export interface BenchOptions {
  quick: boolean;
  /** Progress lines go here (stderr), never into the table. */
  log: (line: string) => void;
}

/** `ratio` targets compare measured ÷ baseline; `value` targets compare the measured figure itself. */
export interface Target {
  on: 'ratio' | 'value';
  op: '<=' | '>=';
  limit: number;
  /**
   * `point` (the default): the figure itself must meet the limit. `interval`: the figure misses only when its whole
   * confidence interval (`Figure.interval`) is beyond the limit, a one-sided test for figures whose spread from run
   * to run on this machine is wider than the target's margin (docs/performance.md, "seventh look").
   */
  judge?: 'point' | 'interval';
}

/** A confidence interval of a figure's judged value (`ratio` for ratio targets), at `level` (e.g. 0.9). */
export interface Interval {
  low: number;
  high: number;
  level: number;
}

/** One line of the results table. */
export interface Figure {
  benchmark: string;
  name: string;
  measured: number;
  unit: string;
  baseline?: { value: number; label: string };
  /** measured ÷ baseline, unless the benchmark defines it otherwise (then it says so in `name`). */
  ratio?: number;
  target?: Target;
  /** Required by `judge: 'interval'` targets; printed next to the ratio. */
  interval?: Interval;
  pass?: boolean;
  note?: string;
}

/** Fills `ratio` (when a baseline is given) and `pass` (when a target is given). */
export function figure(f: Omit<Figure, 'pass'>): Figure {
  const ratio = f.ratio ?? (f.baseline && f.baseline.value !== 0 ? f.measured / f.baseline.value : undefined);
  const out: Figure = { ...f, ...(ratio !== undefined ? { ratio } : {}) };
  if (f.target) {
    const { op, limit } = f.target;
    const x = judgedValue(f, f.target, ratio);
    out.pass = x !== undefined && Number.isFinite(x) && (op === '<=' ? x <= limit : x >= limit);
  }
  return out;
}

/**
 * What a target compares with its limit. An interval target: the interval's bound nearest the limit, so it misses
 * only when the whole interval is beyond it (without an interval it cannot be judged, and misses).
 */
function judgedValue(f: Omit<Figure, 'pass'>, target: Target, ratio: number | undefined): number | undefined {
  if (target.judge === 'interval') return target.op === '<=' ? f.interval?.low : f.interval?.high;
  return target.on === 'ratio' ? ratio : f.measured;
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(Float64Array.from(values).sort(), 50);
}

/**
 * A percentile bootstrap interval of the median of `values` (e.g. per-round ratios): `resamples` medians of as many
 * values drawn with replacement, and their `(1 - level) / 2` and `(1 + level) / 2` percentiles. Seeded, so one set
 * of values always gives one interval.
 */
export function medianInterval(
  values: ArrayLike<number>,
  level = 0.9,
  resamples = 2_000,
  seed = 1,
): Interval {
  if (values.length === 0) return { low: NaN, high: NaN, level };
  const random = seededRandom(seed);
  const medians = new Float64Array(resamples);
  const sample = new Float64Array(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(random() * values.length)]!;
    medians[r] = percentile(sample.sort(), 50);
  }
  medians.sort();
  return {
    low: percentile(medians, ((1 - level) / 2) * 100),
    high: percentile(medians, ((1 + level) / 2) * 100),
    level,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Jobs

/** A registered-but-never-polled job, exactly as `POST /api/jobs` builds it. */
export function newJob(
  kind: string,
  identity: Identity,
  endpoint: string,
  keySecretName: string,
  now: Date,
  pollIntervalSeconds = 60,
): Job {
  const adapter = getAdapter(kind);
  if (!adapter) throw new Error(`unknown kind ${kind}`);
  return buildNewJob(
    { kind, endpoint, keySecretName, apiVersion: adapter.defaultApiVersion, pollIntervalSeconds, identity },
    adapter,
    now,
  );
}

/** Registers jobs through the store (one $batch each), `concurrency` at a time. Seeding is not measured. */
export async function seedJobs(
  store: Pick<JobStore, 'register'>,
  jobs: readonly Job[],
  concurrency = 48,
  onProgress?: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < jobs.length; i = next++) {
      await store.register(jobs[i]!);
      done++;
      if (onProgress && done % 5000 === 0) onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

/** The parent's environment without any app setting, so a worker sees only what the benchmark gives it. */
export function cleanEnv(): Record<string, string> {
  const appSettings = new Set(APP_ENVIRONMENT);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !appSettings.has(k)) out[k] = v;
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A few digits, for the table. */
export function fmt(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

/** A long-lived worker process answering commands over IPC (`{ id, command }` → `{ id, result | error }`). */
export interface Service {
  /** What the worker sent when it was ready. */
  ready: Record<string, unknown>;
  request<T>(command: string, argument?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export function startService(
  name: string,
  env: Record<string, string>,
  input: unknown,
  execArgv: string[] = [],
): Promise<Service> {
  return new Promise<Service>((resolve, reject) => {
    const child = fork(path.join(__dirname, `${name}.js`), [], {
      env: { ...cleanEnv(), ...env },
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    let nextId = 1;
    let started = false;
    child.on('message', (message: unknown) => {
      const m = message as { ready?: Record<string, unknown>; id?: number; result?: unknown; error?: string };
      if (!started) {
        started = true;
        if (m.error !== undefined) return reject(new Error(`${name}: ${m.error}`));
        resolve({
          ready: m.ready ?? {},
          request: <T>(command: string, argument?: unknown) =>
            new Promise<T>((res, rej) => {
              const id = nextId++;
              pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
              child.send({ id, command, argument });
            }),
          stop: () =>
            new Promise<void>((res) => {
              if (child.exitCode !== null) return res();
              child.once('exit', () => res());
              child.kill('SIGTERM');
            }),
        });
        return;
      }
      const waiter = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!waiter) return;
      pending.delete(m.id!);
      if (m.error !== undefined) waiter.reject(new Error(m.error));
      else waiter.resolve(m.result);
    });
    child.once('exit', (code) => {
      if (!started) reject(new Error(`${name} exited with code ${String(code)} before it was ready`));
      for (const w of pending.values()) w.reject(new Error(`${name} exited`));
    });
    child.send(input as object);
  });
}

/** The worker side of `startService`. */
export function serviceMain<I>(
  start: (input: I) => Promise<{
    ready: Record<string, unknown>;
    commands: Record<string, (argument: unknown) => unknown>;
    stop: () => Promise<void>;
  }>,
): void {
  process.once('message', (input: unknown) => {
    start(input as I).then(
      (service) => {
        process.on('message', (message: unknown) => {
          const { id, command, argument } = message as { id: number; command: string; argument: unknown };
          Promise.resolve()
            .then(() => {
              const fn = service.commands[command];
              if (!fn) throw new Error(`unknown command ${command}`);
              return fn(argument);
            })
            .then(
              (result) => process.send?.({ id, result }),
              (error: unknown) => process.send?.({ id, error: String(error) }),
            );
        });
        const stop = (): void => {
          void service.stop().finally(() => process.exit(0));
        };
        process.once('SIGTERM', stop);
        process.once('disconnect', stop);
        process.send?.({ ready: service.ready });
      },
      (error: unknown) => {
        process.send?.(
          { error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
          () => process.exit(1),
        );
      },
    );
  });
}

/**
 * CPU time (µs) of this process's child processes whose command line contains `match` (e.g. Azurite), from
 * /proc (Linux); undefined where /proc is not available.
 */
export function childCpuUs(match: string): number | undefined {
  try {
    let total = 0;
    let found = false;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      let cmdline: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      // Fields after the command name (which may hold spaces): state ppid … utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid || !cmdline.includes(match)) continue;
      found = true;
      total += Number(fields[11]) + Number(fields[12]);
    }
    return found ? (total / CLOCK_TICKS_PER_SECOND) * 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on Linux for every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
