import type { Clock, RandomSource } from '../clock';
import type { Logger } from '../logger';
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
  settings: {
    allowedUpstreamOrigins: readonly string[];
    rateLimits: ReadonlyMap<string, RateBudget>;
    upstreamTimeoutMs: number;
    cycleDeadlineMs: number;
    cycleMaxJobs: number;
    idleIntervalMs: number;
  };
}

export interface CycleReport extends CycleSummary {
  due: number;
  skippedPaused: number;
  deferred: number;
  lostRaces: number;
}

/** Time kept at the end of a cycle to store the outcome of its last calls: the last call starts before it. */
export function writeMarginMs(cycleDeadlineMs: number): number {
  return Math.min(2_000, Math.floor(cycleDeadlineMs / 10));
}

export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
