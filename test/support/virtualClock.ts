import type { Clock } from '../../shared/clock';

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

/**
 * A simulated clock for fault tests. `now()` is virtual; `sleep(ms)` registers a timer on virtual time.
 *
 * Time only moves when the system is quiet: every I/O the code under test does (Table calls, upstream calls,
 * vault reads) is wrapped with `track()`, and when nothing tracked is in flight for a few event-loop turns while
 * timers are pending, the clock jumps to the earliest timer and fires it (and every timer due at the same instant).
 * So an upstream call is made, answered and stored at the very virtual instant of its budget slot: the simulator,
 * which reads the same clock, records it at that instant, and budgets measured on its records are exact whatever
 * the machine's speed. Real time spent in I/O is invisible to virtual time.
 */
export class VirtualClock implements Clock {
  private ms: number;
  private timers: PendingTimer[] = [];
  private seq = 0;
  private busy = 0;
  private checking = false;
  /** Timers fired so far (a figure for reports). */
  fired = 0;

  constructor(start: Date | number) {
    this.ms = typeof start === 'number' ? start : start.getTime();
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
      this.schedule();
    };
    promise.then(done, done);
    return promise;
  }

  /** Moves time to `at` (never backwards). Timers due before it must have fired already (call `idle()` first). */
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

  private schedule(): void {
    if (this.checking || this.busy > 0 || this.timers.length === 0) return;
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
      this.fireEarliest();
    });
  }

  private fireEarliest(): void {
    const first = this.timers[0];
    if (first === undefined) return;
    const at = first.at;
    const due = this.timers.filter((t) => t.at <= at);
    this.timers = this.timers.filter((t) => t.at > at);
    this.ms = Math.max(this.ms, at);
    for (const timer of due) {
      if (timer.onAbort) timer.signal?.removeEventListener('abort', timer.onAbort);
      this.fired++;
      timer.resolve();
    }
    this.schedule();
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
