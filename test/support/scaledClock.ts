import { systemClock, type Clock } from '../../shared/clock';

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
    return systemClock.sleep(ms / this.scale, abortSignal);
  }
}
