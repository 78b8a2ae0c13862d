import type { Clock } from '../../shared/clock';

/**
 * Real time, sped up: `now()` starts at the real time of creation and runs `scale` times faster; `sleep(ms)` is a
 * real `setTimeout` of `ms / scale`. Timing logic meant for seconds (intervals, tolerances, slots) runs in a few
 * real seconds, with the real timers' own jitter (scaled up with it).
 */
export class ScaledClock implements Clock {
  private readonly startedAt = Date.now();
  private readonly startedPerf = performance.now();

  constructor(readonly scale: number) {}

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return this.startedAt + (performance.now() - this.startedPerf) * this.scale;
  }

  sleep(ms: number, abortSignal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (abortSignal?.aborted) return reject(abortSignal.reason as Error);
      if (!(ms > 0)) return resolve();
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortSignal?.reason as Error);
      };
      const timer = setTimeout(() => {
        abortSignal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms / this.scale);
      abortSignal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
