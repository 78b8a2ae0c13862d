import { describe, expect, it } from 'vitest';
import { coalescedFlush } from '../../shared/telemetry/coalescedFlush';

/** A flush whose runs end when the test says; `runs` counts the runs started. */
function controlledFlush(): { flush: () => Promise<void>; runs: number; end(): void } {
  const pending: (() => void)[] = [];
  const state = {
    runs: 0,
    flush: () => {
      state.runs++;
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    end: () => pending.shift()?.(),
  };
  return state;
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('metric flushes of overlapping invocations', () => {
  it('starts a flush at once when none is in progress', async () => {
    // Prepare
    const inner = controlledFlush();
    const flush = coalescedFlush(inner.flush);

    // Act
    const done = flush();
    inner.end();
    await done;

    // Assess
    expect(inner.runs).toBe(1);
  });

  it('answers the callers of a burst with the flush in progress and one more after it, not one each', async () => {
    // Prepare
    const inner = controlledFlush();
    const flush = coalescedFlush(inner.flush);
    const first = flush();
    let laterDone = 0;

    // Act: fifteen more invocations end while the first flush runs.
    const later = Array.from({ length: 15 }, () => flush().then(() => laterDone++));
    await settled();
    const runsDuringFirst = inner.runs;
    inner.end();
    await first;
    await settled();
    const doneBeforeSecondEnds = laterDone;
    inner.end();
    await Promise.all(later);

    // Assess: the later callers waited for a flush that started after they asked.
    expect(runsDuringFirst).toBe(1);
    expect(doneBeforeSecondEnds).toBe(0);
    expect(inner.runs).toBe(2);
    expect(laterDone).toBe(15);
  });

  it('starts the next flush after a failed one, and the failure reaches only its own callers', async () => {
    // Prepare
    let calls = 0;
    const flush = coalescedFlush(() =>
      ++calls === 1 ? Promise.reject(new Error('export failed')) : Promise.resolve(),
    );

    // Act
    const first = flush();
    const second = flush();

    // Assess
    await expect(first).rejects.toThrow('export failed');
    await expect(second).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});
