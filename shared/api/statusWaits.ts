/*
 * Long-poll waiters (docs/spec.md §7, `Prefer: wait`). A job's status changes only when the job is polled, so a
 * waiter does not read the Table in a loop: it reads once shortly after the poll is expected (the first cycle of
 * `POLL_SCHEDULE` that finds the job due), then, while the poll is late, every few seconds (2 s, 3 s, then 4 s: a
 * change is seen within 5 s). A poll stored by this process wakes its waiters at once (the in-process notifier).
 * Every waiter on one job in one process shares one watch, and so the same reads.
 */
import type { Clock } from '../clock';
import type { Schedule } from '../schedule';
import type { LocalStatusNotifier } from '../statusNotifier';

/** What a waiter knows of the job after one read. */
export interface StatusSnapshot<T> {
  etag: string;
  /** ms; undefined when the job will not be polled again (terminal). */
  nextCheckAt: number | undefined;
  pollIntervalMs: number;
  /** What the route answers with. */
  value: T;
}

export type WaitOutcome<T> =
  | { kind: 'changed'; snapshot: StatusSnapshot<T> }
  | { kind: 'unchanged'; snapshot: StatusSnapshot<T> }
  | { kind: 'deleted' };

export interface StatusWaitsDeps<T> {
  read(id: string): Promise<StatusSnapshot<T> | undefined>;
  clock: Clock;
  notifier: Pick<LocalStatusNotifier, 'listen'>;
  /** When poll cycles start; without it the poll is expected at `nextCheckAt`. */
  pollSchedule?: Schedule;
}

/** The longest wait a client may ask for: the Azure Functions HTTP front end ends a request at 230 s. */
export const MAX_WAIT_SECONDS = 200;
/** How long after the expected poll time the first read comes (the cycle lists, calls, stores). */
export const SETTLE_MS = 1_500;
/** Gaps between reads while the poll is late; the last one repeats (under 5 s: the change is seen within 5 s). */
export const LATE_GAPS_MS: readonly number[] = [2_000, 3_000, 4_000];
/** The most a cycle may poll a job before its nextCheckAt (docs/spec.md §5). */
const MAX_TOLERANCE_MS = 2_000;

interface Waiter<T> {
  etag: string;
  /** Reads started before this one joined do not answer it. */
  afterRead: number;
  settle(outcome: WaitOutcome<T> | Error): void;
}

/**
 * `Prefer: wait=N` (RFC 7240 §4.3): the seconds asked for, or undefined when there is no such preference (an
 * unreadable one is ignored, as RFC 7240 asks).
 */
export function parsePreferWait(header: string | null): number | undefined {
  if (!header) return undefined;
  for (const preference of header.split(',')) {
    const match = /^\s*wait\s*=\s*("?)(\d{1,9})\1\s*(?:;.*)?$/i.exec(preference);
    if (match) return Number(match[2]);
  }
  return undefined;
}

/** The waiters of one process, one watch per job. */
export class StatusWaits<T> {
  private readonly watches = new Map<string, JobWatch<T>>();

  constructor(private readonly deps: StatusWaitsDeps<T>) {}

  /**
   * Waits until the job's status ETag differs from `current.etag` (`changed`, with the new snapshot), the job is
   * gone (`deleted`) or `waitMs` passes (`unchanged`, with the latest snapshot). Rejects with the signal's reason
   * when `abortSignal` fires (the client went away): nothing of the waiter is left behind.
   */
  waitForChange(
    id: string,
    current: StatusSnapshot<T>,
    waitMs: number,
    abortSignal?: AbortSignal,
  ): Promise<WaitOutcome<T>> {
    if (abortSignal?.aborted) return Promise.reject(abortSignal.reason as Error);
    let watch = this.watches.get(id);
    if (!watch) {
      watch = new JobWatch(id, current, this.deps, () => this.watches.delete(id));
      this.watches.set(id, watch);
    }
    const joined = watch;
    return new Promise<WaitOutcome<T>>((resolve, reject) => {
      const stop = new AbortController();
      const waiter: Waiter<T> = {
        etag: current.etag,
        afterRead: joined.readsStarted,
        settle: (outcome) => {
          stop.abort();
          abortSignal?.removeEventListener('abort', onAbort);
          joined.leave(waiter);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        },
      };
      const onAbort = (): void => waiter.settle(abortSignal!.reason as Error);
      abortSignal?.addEventListener('abort', onAbort, { once: true });
      this.deps.clock.sleep(waitMs, stop.signal).then(
        () => waiter.settle({ kind: 'unchanged', snapshot: joined.latest }),
        () => undefined, // settled otherwise
      );
      joined.join(waiter, current);
    });
  }

  /** Waiters in this process (a figure for tests: a client that went away leaves none). */
  waiting(): number {
    let count = 0;
    for (const watch of this.watches.values()) count += watch.size();
    return count;
  }
}

/** The reads of one job for every waiter on it in this process. */
class JobWatch<T> {
  readsStarted = 0;
  latest: StatusSnapshot<T>;
  private readonly waiters = new Set<Waiter<T>>();
  /** Reads since the poll was expected that found no change. */
  private lateReads = 0;
  private lastReadAt: number;
  private reading = false;
  private readAgain = false;
  private timer: AbortController | undefined;
  private readonly unlisten: () => void;

  constructor(
    private readonly id: string,
    first: StatusSnapshot<T>,
    private readonly deps: StatusWaitsDeps<T>,
    private readonly dispose: () => void,
  ) {
    this.latest = first;
    this.lastReadAt = deps.clock.now().getTime();
    this.unlisten = deps.notifier.listen(id, () => void this.read());
  }

  size(): number {
    return this.waiters.size;
  }

  join(waiter: Waiter<T>, seen: StatusSnapshot<T>): void {
    this.waiters.add(waiter);
    if (seen.etag !== this.latest.etag) {
      // This waiter's own read saw a state the watch has not: the others may be behind. Read now.
      void this.read();
      return;
    }
    this.noted(this.deps.clock.now().getTime());
    this.plan();
  }

  leave(waiter: Waiter<T>): void {
    if (!this.waiters.delete(waiter) || this.waiters.size > 0) return;
    this.timer?.abort();
    this.timer = undefined;
    this.unlisten();
    this.dispose();
  }

  /** The first cycle that finds the job due polls it: when that cycle starts, and never before nextCheckAt - tolerance. */
  private expectedPollAt(s: StatusSnapshot<T>): number | undefined {
    if (s.nextCheckAt === undefined) return undefined;
    const earliest = s.nextCheckAt - Math.min(MAX_TOLERANCE_MS, s.pollIntervalMs / 10);
    const cycle = this.deps.pollSchedule?.next(new Date(earliest - 1))?.getTime();
    return Math.max(earliest, cycle ?? s.nextCheckAt);
  }

  /** A read at `at` found the state unchanged. */
  private noted(at: number): void {
    this.lastReadAt = Math.max(this.lastReadAt, at);
    const expected = this.expectedPollAt(this.latest);
    if (expected !== undefined && at >= expected + SETTLE_MS) this.lateReads++;
  }

  private plan(): void {
    this.timer?.abort();
    this.timer = undefined;
    if (this.waiters.size === 0) return;
    const expected = this.expectedPollAt(this.latest);
    if (expected === undefined) return; // terminal: only a refresh changes it, and a refresh here wakes us
    const first = expected + SETTLE_MS;
    const at =
      this.lateReads === 0
        ? first
        : this.lastReadAt + LATE_GAPS_MS[Math.min(this.lateReads, LATE_GAPS_MS.length) - 1]!;
    const timer = new AbortController();
    this.timer = timer;
    this.deps.clock.sleep(Math.max(0, at - this.deps.clock.now().getTime()), timer.signal).then(
      () => {
        if (this.timer === timer) this.timer = undefined;
        void this.read();
      },
      () => undefined, // re-planned or done
    );
  }

  private async read(): Promise<void> {
    if (this.waiters.size === 0) return;
    if (this.reading) {
      this.readAgain = true; // a state stored after this read started must still be seen
      return;
    }
    this.timer?.abort();
    this.timer = undefined;
    this.reading = true;
    const readNumber = ++this.readsStarted;
    const startedAt = this.deps.clock.now().getTime();
    let outcome: WaitOutcome<T> | Error;
    try {
      const snapshot = await this.deps.read(this.id);
      outcome = snapshot === undefined ? { kind: 'deleted' } : { kind: 'changed', snapshot };
    } catch (error) {
      outcome = error instanceof Error ? error : new Error(String(error));
    }
    this.reading = false;
    if (!(outcome instanceof Error) && outcome.kind === 'changed') {
      const { snapshot } = outcome;
      if (snapshot.etag !== this.latest.etag) {
        this.latest = snapshot;
        this.lateReads = 0;
        this.lastReadAt = startedAt;
      } else {
        this.latest = snapshot;
        this.noted(startedAt);
      }
    }
    for (const waiter of [...this.waiters]) {
      if (waiter.afterRead >= readNumber) continue;
      if (outcome instanceof Error || outcome.kind === 'deleted') waiter.settle(outcome);
      else if (outcome.snapshot.etag !== waiter.etag) waiter.settle(outcome);
    }
    if (this.readAgain) {
      this.readAgain = false;
      return this.read();
    }
    this.plan();
  }
}
