/**
 * The benchmarks' closed-loop load generator, the merge of its rounds, and a lean GET to load servers with. Nothing
 * here is product code.
 */
import http from 'node:http';
import { sleep } from './common';

export interface LoadResult {
  /** Latencies in ms, ascending. */
  latencies: Float64Array;
  /** Requests completed inside the window (the CPU figures are per one of these). */
  requests: number;
  errors: number;
  elapsedMs: number;
  /** Requests per second. */
  throughput: number;
  /** CPU time (µs) of this process during the recorded phase. */
  cpuUs: number;
  /** What `measure` returned (e.g. another process's CPU time) over the recorded phase. */
  extra: number;
  /** The message of the first failed request, if any failed. */
  firstError?: string;
}

/**
 * Closed-loop load: `concurrency` workers call `op` back to back, after `warmupMs` of the same load.
 * - Latencies: every request that *starts* inside the recorded window, waited for after the window closes. A
 *   request started during the warm-up (the first burst on fresh connections) is not one of them, however late it
 *   ends; and none is left out for being slow to end.
 * - Throughput: the requests that *complete* inside the window, per second of the window, so neither the ramp-up
 *   nor the drain skews it.
 * The window lasts `durationMs`, and longer until `minSamples` requests were recorded (at most `maxMs`): on a busy
 * machine a fixed window can hold too few requests for a p99. `op(i)` gets a running counter (to spread requests
 * over keys).
 */
export async function runLoad(
  op: (i: number) => Promise<unknown>,
  options: {
    concurrency: number;
    durationMs: number;
    warmupMs: number;
    /** Keep recording past `durationMs` until this many requests completed in the window. */
    minSamples?: number;
    /** The longest the window may last to reach `minSamples` (default 10 × `durationMs`). */
    maxMs?: number;
    /** Read at the start and at the end of the recorded window; `extra` is the difference. */
    measure?: () => Promise<number>;
  },
): Promise<LoadResult> {
  let counter = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const samples: number[] = [];
  const started = performance.now();
  const windowStart = started + options.warmupMs;
  const minEnd = windowStart + options.durationMs;
  const maxEnd = windowStart + Math.max(options.durationMs, options.maxMs ?? 10 * options.durationMs);
  const minSamples = options.minSamples ?? 0;
  let windowEnd = Infinity;
  let closeWindow: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (closeWindow = resolve));
  /** Closes the window at `now` once it is long enough and holds enough samples (or reached its longest). */
  const maybeClose = (now: number): void => {
    if (windowEnd !== Infinity || now < minEnd) return;
    if (samples.length < minSamples && now < maxEnd) return;
    windowEnd = now;
    closeWindow();
  };
  let extraBefore = 0;
  let cpuBefore: NodeJS.CpuUsage | undefined;
  const opening = (async () => {
    await sleep(Math.max(0, windowStart - performance.now()));
    cpuBefore = process.cpuUsage();
    extraBefore = (await options.measure?.()) ?? 0;
  })();
  let cpu: NodeJS.CpuUsage | undefined;
  let extraAfter = 0;
  const closing = (async () => {
    // The window closes on a completion; this timer closes it when none completes (a stalled run).
    const timer = setTimeout(() => maybeClose(Math.max(performance.now(), minEnd)), maxEnd - started);
    await closed;
    clearTimeout(timer);
    cpu = process.cpuUsage(cpuBefore);
    extraAfter = (await options.measure?.()) ?? 0;
  })();
  const worker = async (): Promise<void> => {
    while (windowEnd === Infinity) {
      const t0 = performance.now();
      let failed: unknown;
      try {
        await op(counter++);
      } catch (error) {
        failed = error ?? new Error('failed');
      }
      const t1 = performance.now();
      if (t1 >= windowStart && t1 <= windowEnd) completed++;
      if (t0 >= windowStart && t0 <= windowEnd) {
        if (failed !== undefined) {
          errors++;
          firstError ??= failed instanceof Error ? failed.message : 'failed';
        }
        samples.push(t1 - t0);
        maybeClose(t1);
      }
    }
  };
  await Promise.all([opening, closing, ...Array.from({ length: options.concurrency }, worker)]);
  const latencies = Float64Array.from(samples).sort();
  const usage = cpu ?? { user: 0, system: 0 };
  const elapsedMs = windowEnd - windowStart;
  return {
    latencies,
    requests: completed,
    errors,
    elapsedMs,
    throughput: (completed / elapsedMs) * 1000,
    cpuUs: usage.user + usage.system,
    extra: extraAfter - extraBefore,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** Merges several runs of the same variant (interleaved rounds) into one. */
export function mergeLoads(runs: readonly LoadResult[]): LoadResult {
  const total = runs.reduce((n, r) => n + r.latencies.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const r of runs) {
    all.set(r.latencies, offset);
    offset += r.latencies.length;
  }
  all.sort();
  const elapsedMs = runs.reduce((n, r) => n + r.elapsedMs, 0);
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  return {
    latencies: all,
    requests,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    elapsedMs,
    throughput: (requests / elapsedMs) * 1000,
    cpuUs: runs.reduce((n, r) => n + r.cpuUs, 0),
    extra: runs.reduce((n, r) => n + r.extra, 0),
    ...(runs.some((r) => r.firstError !== undefined)
      ? { firstError: runs.find((r) => r.firstError !== undefined)!.firstError! }
      : {}),
  };
}

/** A lean keep-alive GET; resolves with the status once the body is read. */
export function httpGet(
  agent: http.Agent,
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}
