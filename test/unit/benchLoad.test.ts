/**
 * The benchmarks' closed-loop load (bench/load.ts `runLoad`): what its recorded window holds. Real timers: the
 * window is opened and closed by the wall clock, as in a benchmark.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runLoad } from '../../bench/load';

describe('closed-loop load', () => {
  it('records no request started during the warm-up, however late it ends, and waits for the last ones', async () => {
    // Prepare: each worker's first request is slow (a fresh connection) and ends inside the window; one request
    // started inside the window is slower still and ends after the window closed; the others take 2 ms.
    const op = async (i: number): Promise<void> => {
      await sleep(i < 4 ? 400 : i === 40 ? 1_000 : 2);
    };

    // Act
    const result = await runLoad(op, { concurrency: 4, durationMs: 500, warmupMs: 200 });

    // Assess
    const latencies = [...result.latencies];
    expect(latencies.length).toBeGreaterThan(20);
    expect(latencies.filter((ms) => ms >= 390 && ms < 990)).toEqual([]); // none of the first four
    expect(latencies.filter((ms) => ms >= 990)).toHaveLength(1); // the slow one, waited for
    expect(result.throughput).toBeGreaterThan(0);
  });
});
