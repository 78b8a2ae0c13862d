import type { Clock, RandomSource } from '../clock';
import type { Logger } from '../logger';
import type { PollQueue } from '../queue/types';
import type { StatusNotifier } from '../statusNotifier';
import type { Telemetry } from '../telemetry';
import type { CycleSummary, JobStore } from '../store/types';
import type { JobAdapter, RateBudget, UpstreamResponse } from '../upstream/types';

export interface KeyProvider {
  /**
   * `bypassCache` after an upstream 401, with `refusedKey` the key that was refused: a provider that already
   * holds another key (a concurrent re-read got the rotated one) returns it without reading the vault again.
   */
  getKey(
    name: string,
    options?: { bypassCache?: boolean; refusedKey?: string; abortSignal?: AbortSignal },
  ): Promise<string>;
}

export type FetchUpstream = (
  url: string,
  options: { headers: Record<string, string>; timeoutMs: number; abortSignal?: AbortSignal },
) => Promise<UpstreamResponse>;

export interface PollerDeps {
  store: JobStore;
  keys: KeyProvider;
  getAdapter: (kind: string) => JobAdapter | undefined;
  fetchUpstream: FetchUpstream;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /**
   * Metrics (docs/spec.md §11); none when absent. A type-only import: this file loads when the app is imported,
   * and @opentelemetry/api should not.
   */
  telemetry?: Telemetry;
  /** Told after every state the poller stores (long-poll waiters of this process, docs/spec.md §7). */
  notifier?: StatusNotifier;
  /** Told after a stored transition (its event waits in the outbox): forwards it to notifications; never throws. */
  transitions?: {
    /** Whether a transition's event has a listener (a subscription, Event Grid); without one none is stored. */
    wanted(): Promise<boolean>;
    stored(jobId: string): Promise<void>;
  };
  /** The `polls` queue: without it, a cycle reserves no slot after its call window (nothing is handed off). */
  queue?: PollQueue;
  settings: {
    allowedUpstreamOrigins: readonly string[];
    rateLimits: ReadonlyMap<string, RateBudget>;
    upstreamTimeoutMs: number;
    cycleDeadlineMs: number;
    cycleMaxJobs: number;
    idleIntervalMs: number;
    /**
     * How far ahead of its start a cycle reserves slots (and hands the jobs after its call window to the queue):
     * the period of the poll schedule, so that one cycle's reservations reach the next cycle. Default 60 s.
     */
    handOffHorizonMs?: number;
  };
}

export interface CycleReport extends CycleSummary {
  due: number;
  skippedPaused: number;
  deferred: number;
  lostRaces: number;
  /** Due jobs claimed by another cycle, refresh or worker: left to it. */
  claimedElsewhere: number;
  /** Jobs handed to the `polls` queue with their slot. */
  handedOff: number;
}

/** Time kept at the end of a cycle to store the outcome of its last calls: the last call starts before it. */
export function writeMarginMs(cycleDeadlineMs: number): number {
  return Math.min(2_000, Math.floor(cycleDeadlineMs / 10));
}

export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
