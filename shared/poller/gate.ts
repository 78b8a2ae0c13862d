import type { Clock } from '../clock';
import type { JobStore, ResourceState } from '../store/types';
import type { RateBudget } from '../upstream/types';
import { lateAllowanceMs, spacingMs } from './budget';

/**
 * Before a call, a resource's pause state is read again when the copy in hand is older than this and this many
 * calls went through the gate since: another cycle or host may have met a 429 since (at most one read per
 * resource per second, and per 40 calls, however slowly the calls go).
 */
const PAUSE_RECHECK_MS = 1_000;
const PAUSE_RECHECK_CALLS = 40;

/**
 * What one cycle (or refresh) knows of a resource's pause: its own 429s at once, other writers' through the
 * resource row, read again before a call when older than `PAUSE_RECHECK_MS`. Pauses met in this process are
 * shared by every cycle and refresh of the process (`pauses`).
 */
export class ResourceGate {
  private pausedUntil: number;
  private readAt: number;
  private reading: Promise<void> | undefined;
  private readonly recheckMs: number;
  /** The budget's spacing between two calls (ms). */
  private readonly spacingMs: number;
  /** How late after its slot a call may start and keep every window within the budget (ms). */
  readonly lateAllowanceMs: number;
  /** The earliest start of the next call from this gate (ms). */
  private nextStartAt = 0;
  /** Calls started through this gate since its state was last read. */
  private callsSinceRead: number;

  constructor(
    readonly resource: string,
    state: ResourceState | undefined,
    private readonly store: JobStore,
    private readonly clock: Clock,
    private readonly pauses: Map<string, number>,
    budget: RateBudget,
  ) {
    this.spacingMs = spacingMs(budget);
    this.lateAllowanceMs = lateAllowanceMs(budget);
    this.pausedUntil = pausedUntilOf(state);
    // Without a state in hand, the row is read before the first call.
    this.readAt = state ? clock.now().getTime() : Number.NEGATIVE_INFINITY;
    this.callsSinceRead = state ? 0 : PAUSE_RECHECK_CALLS;
    // A row read per call would cost a Table transaction per call: every 40 calls at most. A pause met elsewhere
    // reaches this gate by then, or by this gate's own first 429, or with the next reservation of this process.
    this.recheckMs = PAUSE_RECHECK_MS;
  }

  /**
   * Waits, when needed, so that calls through this gate start at least one spacing apart. Slots are spaced
   * already; this keeps the spacing when a call reaches its slot late (a slow key read) and the next does not.
   */
  async spaced(signal: AbortSignal): Promise<void> {
    const now = this.clock.now().getTime();
    const start = Math.max(now, this.nextStartAt);
    this.nextStartAt = start + this.spacingMs;
    this.callsSinceRead++;
    await this.clock.sleep(start - now, signal);
  }

  /** The resource row as read or written just now by another holder of this process (a reservation): no read needed. */
  observe(state: ResourceState): void {
    this.pausedUntil = Math.max(this.pausedUntil, pausedUntilOf(state));
    this.readAt = Math.max(this.readAt, this.clock.now().getTime());
    this.callsSinceRead = 0;
  }

  pause(until: Date): void {
    this.pausedUntil = Math.max(this.pausedUntil, until.getTime());
    this.pauses.set(this.resource, Math.max(this.pauses.get(this.resource) ?? 0, until.getTime()));
  }

  /** The end of the pause in force now (ms), or undefined when calls may be made. */
  async pausedNow(signal: AbortSignal): Promise<number | undefined> {
    const now = this.clock.now().getTime();
    if (now - this.readAt >= this.recheckMs && this.callsSinceRead >= PAUSE_RECHECK_CALLS) {
      this.reading ??= this.store
        .getResourceState(this.resource, { abortSignal: signal })
        .then(
          (state) => {
            this.pausedUntil = Math.max(this.pausedUntil, pausedUntilOf(state));
          },
          () => undefined, // unreadable: go on with what is known
        )
        .finally(() => {
          this.readAt = this.clock.now().getTime();
          this.callsSinceRead = 0;
          this.reading = undefined;
        });
      await this.reading;
    }
    const until = Math.max(this.pausedUntil, this.pauses.get(this.resource) ?? 0);
    return until > this.clock.now().getTime() ? until : undefined;
  }
}

export function pausedUntilOf(state: ResourceState | undefined): number {
  const until = state?.pausedUntil ? Date.parse(state.pausedUntil) : NaN;
  return Number.isFinite(until) ? until : 0;
}
