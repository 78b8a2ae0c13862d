import type { Clock } from '../shared/clock';

interface PendingTimer {
  at: number;
  seq: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** How many event-loop turns with nothing tracked in flight count as "every task is waiting". */
const QUIET_TURNS = 3;

export interface VirtualClockOptions {
  /**
   * `auto` (default, the fault tests): time jumps to the earliest timer whenever the system is quiet.
   * `manual` (the benchmarks): time moves only when the driver calls `runUntil`.
   */
  advance?: 'auto' | 'manual';
}

/**
 * Simulated time for tests and benchmarks. `now()` is virtual; `sleep(ms)` registers a timer on virtual time.
 *
 * Time only moves when the system is quiet: every I/O the code under test does (Table calls, upstream calls,
 * vault reads) is wrapped with `track()`, and only when nothing tracked has been in flight for a few event-loop
 * turns does the clock jump to the earliest timer and fire it (and every timer due at the same instant): on its
 * own (`auto`) or up to the instant the driver names (`manual`, `runUntil`). So an upstream call is made, answered
 * and stored at the very virtual instant of its budget slot: a simulator reading the same clock records it at that
 * instant, and budgets measured on its records are exact whatever the machine's speed. Real time spent in I/O is
 * invisible to virtual time.
 */
export class VirtualClock implements Clock {
  private ms: number;
  private timers: PendingTimer[] = [];
  private seq = 0;
  private busy = 0;
  private checking = false;
  private idleWaiters: (() => void)[] = [];
  private readonly auto: boolean;
  /** Timers fired so far (a figure for reports). */
  fired = 0;

  constructor(start: Date | number, options: VirtualClockOptions = {}) {
    this.ms = typeof start === 'number' ? start : start.getTime();
    this.auto = (options.advance ?? 'auto') === 'auto';
  }

  now(): Date {
    return new Date(this.ms);
  }

  nowMs(): number {
    return this.ms;
  }

  sleep(ms: number, abortSignal?: AbortSignal): Promise<void> {
    if (abortSignal?.aborted) return Promise.reject(abortSignal.reason as Error);
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer: PendingTimer = {
        at: this.ms + ms,
        seq: this.seq++,
        resolve,
        reject,
        signal: abortSignal,
        onAbort: undefined,
      };
      if (abortSignal) {
        timer.onAbort = () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(abortSignal.reason as Error);
          this.schedule();
        };
        abortSignal.addEventListener('abort', timer.onAbort, { once: true });
      }
      this.timers.push(timer);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      this.schedule();
    });
  }

  /** Marks `promise` as I/O in flight: virtual time does not move until it settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.busy++;
    const done = (): void => {
      this.busy--;
      if (this.busy === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      this.schedule();
    };
    promise.then(done, done);
    return promise;
  }

  /** Moves time to `at` (never backwards). Timers due before it must have fired already. */
  set(at: Date | number): void {
    const ms = typeof at === 'number' ? at : at.getTime();
    if (ms < this.ms) throw new Error(`virtual time cannot go back (${new Date(ms).toISOString()})`);
    const early = this.timers[0];
    if (early !== undefined && early.at < ms)
      throw new Error(`a timer is pending at ${new Date(early.at).toISOString()}`);
    this.ms = ms;
  }

  advance(ms: number): void {
    this.set(this.ms + ms);
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  /** `manual` clocks: fires every timer due up to `at`, in order, each once the system is quiet; then sets `at`. */
  async runUntil(at: number): Promise<void> {
    for (;;) {
      await this.quiet();
      const first = this.timers[0];
      if (first === undefined || first.at > at) break;
      this.fireAt(first.at);
    }
    this.ms = Math.max(this.ms, at);
  }

  /** Resolves once nothing tracked has been in flight for a few event-loop turns. */
  async quiet(): Promise<void> {
    let calm = 0;
    while (calm < QUIET_TURNS) {
      if (this.busy > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
      calm = this.busy === 0 ? calm + 1 : 0;
    }
  }

  private schedule(): void {
    if (!this.auto || this.checking || this.busy > 0 || this.timers.length === 0) return;
    this.checking = true;
    this.quietTurn(QUIET_TURNS);
  }

  private quietTurn(left: number): void {
    setImmediate(() => {
      if (this.busy > 0 || this.timers.length === 0) {
        this.checking = false;
        return;
      }
      if (left > 0) return this.quietTurn(left - 1);
      this.checking = false;
      const first = this.timers[0];
      if (first !== undefined) this.fireAt(first.at);
      this.schedule();
    });
  }

  /** Moves time to `at` and fires every timer due by then. */
  private fireAt(at: number): void {
    const due = this.timers.filter((t) => t.at <= at);
    this.timers = this.timers.filter((t) => t.at > at);
    this.ms = Math.max(this.ms, at);
    for (const timer of due) {
      if (timer.onAbort) timer.signal?.removeEventListener('abort', timer.onAbort);
      this.fired++;
      timer.resolve();
    }
  }
}

/** Every method of `target` that returns a promise is tracked on `clock`. */
export function trackAll<T extends object>(target: T, clock: VirtualClock): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
        return result instanceof Promise ? clock.track(result) : result;
      };
    },
  });
}

/** A small seeded PRNG (mulberry32): jitter is reproducible run after run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
