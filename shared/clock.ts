/** Time and randomness come in as dependencies so tests can control both. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` (or at once when ms <= 0); rejects with the signal's reason when aborted. */
  sleep(ms: number, abortSignal?: AbortSignal): Promise<void>;
}

/** Returns a number in [0, 1). */
export type RandomSource = () => number;

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, abortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (abortSignal?.aborted) return reject(abortSignal.reason as Error);
      if (ms <= 0) return resolve();
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortSignal?.reason as Error);
      };
      const timer = setTimeout(() => {
        abortSignal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      abortSignal?.addEventListener('abort', onAbort, { once: true });
    }),
};
