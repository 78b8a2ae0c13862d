import type { RandomSource } from '../clock';

/** Waits before the retries of a failed delivery (docs/spec.md §12): about a day in all, then `failed`. */
export const RETRY_DELAYS_MS: readonly number[] = [
  5_000, 30_000, 120_000, 600_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000,
];

/** Jitter: each wait is moved by up to ±10 %. */
export const RETRY_JITTER = 0.1;

/** The longest `Retry-After` (429/503) honoured. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The wait before the next attempt after `attempts` failed ones, or undefined when the last retry failed.
 * A receiver's `Retry-After` (429/503) that asks for longer is honoured up to an hour.
 */
export function retryDelayMs(
  attempts: number,
  random: RandomSource,
  retryAfterMs?: number,
): number | undefined {
  const base = RETRY_DELAYS_MS[attempts - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (1 + (random() * 2 - 1) * RETRY_JITTER));
  if (retryAfterMs !== undefined && retryAfterMs > jittered)
    return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return jittered;
}
