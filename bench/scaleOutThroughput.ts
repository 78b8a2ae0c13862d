/**
 * Benchmark 9, worker throughput: the same handed-off work (one cycle whose call window is empty hands every job to
 * the `polls` queue) taken by 1 worker, then by 4, with budgets far above what the workers can do and a 1 s upstream
 * latency: polls per second of the workers, and their ratio (see ./scaleOut).
 */
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import type { Job } from '../shared/model';
import { figure, sleep, type BenchOptions, type Figure } from './common';
import { functionLines, type HostProcess } from './scaleOutProcesses';
import {
  appSettings,
  azuriteWith,
  BENCH,
  callsPerGroup,
  duplicateCalls,
  KEY,
  runningGroups,
  startFleet,
  storedPolls,
  type StandIns,
} from './scaleOutRig';

/** Per-resource budget far above what the workers can do (50 calls/s): the budget is not the limit. */
const UNBOUND_BUDGET = '180000/h';
const UPSTREAM_LATENCY_MS = 1_000;

interface WorkerRun {
  workers: number;
  calls: number;
  polledPerSecond: number;
  spanMs: number;
  duplicates: number;
  expired: number;
  /** How long the cycle took to hand every job to the queue. */
  handOffMs: number;
}

async function runWorkers(
  count: number,
  sims: readonly UpstreamSimulator[],
  jobs: readonly Job[],
  standIns: StandIns,
  log: BenchOptions['log'],
): Promise<WorkerRun> {
  for (const sim of sims) sim.resetCalls();
  const azurite = await azuriteWith(jobs);
  let hosts: HostProcess[] = [];
  try {
    const settings = appSettings(azurite, standIns, sims, () => UNBOUND_BUDGET, {
      // The timer never fires by itself (once a year): the one cycle is run through the admin endpoint.
      POLL_SCHEDULE: '0 0 0 1 1 *',
      // An empty call window (deadline − timeout − margin < 0): the cycle hands every job to the queue.
      CYCLE_DEADLINE_SECONDS: '10',
      UPSTREAM_TIMEOUT_SECONDS: '9',
    });
    hosts = await startFleet(
      ['timer', ...Array.from({ length: count }, () => 'worker' as const)],
      settings,
      log,
    );
    // Each process builds its services (SDKs, tables) before the measured work.
    await Promise.all(hosts.map((h) => fetch(`${h.url}/api/health`).then((r) => r.arrayBuffer())));
    const response = await fetch(`${hosts[0]!.url}/admin/functions/pollJobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input":""}',
    });
    if (response.status !== 202) throw new Error(`the cycle was not started (${response.status})`);
    // Until every job was called, or nothing was called for 15 s (messages past their claim are dropped).
    const total = (): number => sims.reduce((n, s) => n + s.calls.length, 0);
    const deadline = Date.now() + 180_000;
    let last = { calls: -1, at: Date.now() };
    while (total() < jobs.length && Date.now() < deadline) {
      await sleep(500);
      if (total() !== last.calls) last = { calls: total(), at: Date.now() };
      else if (Date.now() - last.at > 15_000 && total() > 0) break;
    }
    await Promise.all(hosts.map((h) => h.stop()));
    const times = sims.flatMap((s) => s.calls.map((c) => c.at.getTime())).sort((a, b) => a - b);
    const spanMs = times.length > 1 ? times.at(-1)! - times[0]! : NaN;
    const calls = callsPerGroup(sims);
    const duplicates = duplicateCalls(calls, storedPolls(hosts, jobs));
    const cycle = functionLines(hosts[0]!.lines(), 'poll cycle finished')[0]?.properties;
    const expired = hosts
      .flatMap((h) => functionLines(h.lines(), 'polls message ignored: its claim expired'))
      .filter((l) => l.functionName === 'pollJob').length;
    const run: WorkerRun = {
      workers: count,
      calls: times.length,
      // n calls over the span from the first to the last: n − 1 intervals.
      polledPerSecond: ((times.length - 1) / spanMs) * 1000,
      spanMs,
      duplicates,
      expired,
      handOffMs: Number(cycle?.['durationMs']),
    };
    log(
      `  ${count} worker(s): ${run.calls} calls in ${(spanMs / 1000).toFixed(1)} s, ${run.polledPerSecond.toFixed(1)}/s, ${expired} expired, ${duplicates} duplicates`,
    );
    return run;
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
    await azurite.stop();
  }
}

export async function benchWorkerThroughput(standIns: StandIns, options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const resources = quick ? 4 : 5;
  const perResource = quick ? 20 : 30;
  const sims: UpstreamSimulator[] = [];
  try {
    for (let r = 0; r < resources; r++) {
      sims.push(await startUpstreamSimulator({ keys: [KEY], latencyMs: UPSTREAM_LATENCY_MS }));
    }
    const jobs = sims.flatMap((sim, r) => runningGroups(sim, `work${r}`, perResource, 60));
    const one = await runWorkers(1, sims, jobs, standIns, log);
    const four = await runWorkers(4, sims, jobs, standIns, log);
    const describe = (run: WorkerRun): string =>
      `${run.calls} of ${jobs.length} polled in ${(run.spanMs / 1000).toFixed(1)} s (the cycle took ${(run.handOffMs / 1000).toFixed(1)} s to hand them off)` +
      (run.expired ? ` (${run.expired} messages came past their claim and were left to the next cycle)` : '');
    return [
      figure({
        benchmark: BENCH,
        name: `workers' throughput, 4 vs 1 (${jobs.length} handed-off polls, upstream latency 1 s)`,
        measured: four.polledPerSecond,
        unit: 'polls/s',
        baseline: { value: one.polledPerSecond, label: '1 worker' },
        target: { on: 'ratio', op: '>=', limit: 1.5 },
        note: `4 workers: ${describe(four)}; 1 worker: ${describe(one)}`,
      }),
      figure({
        benchmark: BENCH,
        name: 'duplicate calls in the throughput runs',
        measured: one.duplicates + four.duplicates,
        unit: 'calls',
        target: { on: 'value', op: '<=', limit: 0 },
      }),
    ];
  } finally {
    for (const sim of sims) await sim.stop().catch(() => undefined);
  }
}
