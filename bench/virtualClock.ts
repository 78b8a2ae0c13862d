/**
 * Simulated time for benchmark 3: `now()` is virtual and `sleep()` registers a timer on it. Time moves only when
 * the driver says so (`runUntil`), and only while nothing tracked (Table calls, upstream calls) is in flight, so
 * ten simulated minutes take seconds and every call happens at the virtual instant it was scheduled for.
 */
import type { Clock } from '../shared/clock';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Event-loop turns with nothing in flight that count as "everything is waiting on a timer". */
const QUIET_TURNS = 3;

export class VirtualClock implements Clock {
  private ms: number;
  private timers: Timer[] = [];
  private seq = 0;
  private busy = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(start: number) {
    this.ms = start;
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
      const timer: Timer = {
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
        };
        abortSignal.addEventListener('abort', timer.onAbort, { once: true });
      }
      this.timers.push(timer);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    });
  }

  /** Marks `promise` as I/O in flight: time does not move until it settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.busy++;
    const done = (): void => {
      this.busy--;
      if (this.busy === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
    promise.then(done, done);
    return promise;
  }

  /** Fires every timer due up to `at`, in order, each once the system is quiet; then sets the time to `at`. */
  async runUntil(at: number): Promise<void> {
    for (;;) {
      await this.quiet();
      const first = this.timers[0];
      if (first === undefined || first.at > at) break;
      const due = this.timers.filter((t) => t.at <= first.at);
      this.timers = this.timers.filter((t) => t.at > first.at);
      this.ms = Math.max(this.ms, first.at);
      for (const timer of due) {
        if (timer.onAbort) timer.signal?.removeEventListener('abort', timer.onAbort);
        timer.resolve();
      }
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
