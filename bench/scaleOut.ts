/**
 * Benchmark 9 — scale-out, real processes, real time (docs/spec.md §5, §10). The compiled local host runs as real
 * child processes (`node dist/dev/start.js --role timer|worker`, bench/scaleOutProcesses.ts) over one Azurite, with
 * the Key Vault and identity stand-ins and upstream simulators (one server per resource) in this process, which
 * count every call per job and per resource with its arrival time.
 *
 * - **Fleet under budget.** 2 timer hosts (a cycle every 10 s, fired at the same instants on both) and 4 `pollJob`
 *   workers over 32 running jobs (10 s interval) on two resources whose small budgets are the limit: duplicate calls,
 *   calls over budget at the simulators, every due job polled.
 * - **Worker throughput.** The same handed-off work (one cycle whose call window is empty hands every job to the
 *   `polls` queue) taken by 1 worker, then by 4, with budgets far above what the workers can do and a 1 s upstream
 *   latency: polls per second of the workers, and their ratio.
 *
 * Every figure is a count at the simulators or in the processes' log lines (`job polled {…applied}`).
 */
import { startUpstreamSimulator, type UpstreamSimulator } from '../dev/upstreamSimulator';
import { figure, sleep, type BenchOptions, type Figure } from './common';
import { functionLines } from './scaleOutProcesses';
import {
  appSettings,
  azuriteWith,
  BENCH,
  callsPerGroup,
  duplicateCalls,
  KEY,
  MINUTE,
  runningGroups,
  startFleet,
  startStandIns,
  storedPolls,
  type StandIns,
} from './scaleOutRig';
import { benchWorkerThroughput } from './scaleOutThroughput';

// Fleet under budget: 2 timer hosts and 4 workers

const FLEET_RESOURCES = [
  { calls: 30, jobs: 12 },
  { calls: 60, jobs: 20 },
] as const;

async function benchFleet(standIns: StandIns, options: BenchOptions): Promise<Figure[]> {
  const { quick, log } = options;
  const runMs = quick ? 50_000 : 120_000;
  const sims: UpstreamSimulator[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    for (let r = 0; r < FLEET_RESOURCES.length; r++) {
      const sim = await startUpstreamSimulator({ keys: [KEY] });
      sims.push(sim);
      stops.push(() => sim.stop());
    }
    const jobs = sims.flatMap((sim, r) => runningGroups(sim, `fleet${r}`, FLEET_RESOURCES[r]!.jobs, 10));
    const azurite = await azuriteWith(jobs);
    stops.push(() => azurite.stop());
    const settings = appSettings(azurite, standIns, sims, (r) => `${FLEET_RESOURCES[r]!.calls}/min`, {
      POLL_SCHEDULE: '*/10 * * * * *',
      CYCLE_DEADLINE_SECONDS: '8',
      UPSTREAM_TIMEOUT_SECONDS: '3',
    });
    const workers = await startFleet(['worker', 'worker', 'worker', 'worker'], settings, log);
    stops.push(() => Promise.all(workers.map((w) => w.stop())).then(() => undefined));
    const timers = await startFleet(['timer', 'timer'], settings, log);
    stops.push(() => Promise.all(timers.map((t) => t.stop())).then(() => undefined));
    const startedAt = Date.now();
    log(`  2 timer hosts and 4 workers running for ${runMs / 1000} s`);
    await sleep(runMs);
    // Timers first (each finishes its running cycle), then the workers (each finishes the messages it holds):
    // every call made has its `job polled` line.
    await Promise.all(timers.map((t) => t.stop()));
    await Promise.all(workers.map((w) => w.stop()));
    const elapsedMs = Date.now() - startedAt;

    const hosts = [...timers, ...workers];
    const calls = callsPerGroup(sims);
    const stored = storedPolls(hosts, jobs);
    const totalCalls = [...calls.values()].reduce((a, b) => a + b, 0);
    const duplicates = duplicateCalls(calls, stored);
    const cycles = hosts.flatMap((h) => functionLines(h.lines(), 'poll cycle finished'));
    const sum = (field: string): number => cycles.reduce((n, c) => n + (Number(c.properties[field]) || 0), 0);
    const worst = sims.map((sim) => sim.maxCallsInWindow(MINUTE));
    const over = worst.reduce((n, w, r) => n + Math.max(0, w - FLEET_RESOURCES[r]!.calls), 0);
    const polledJobs = jobs.filter((j) => (calls.get(j.identity['personGroupId']!) ?? 0) > 0).length;
    const failedMessages = workers
      .flatMap((w) => w.lines())
      .filter((l) => l.includes("Executed 'pollJob' (Failed")).length;
    const budgetCalls = FLEET_RESOURCES.reduce((n, r) => n + (r.calls * elapsedMs) / MINUTE, 0);
    log(
      `  ${totalCalls} calls in ${(elapsedMs / 1000).toFixed(0)} s; stored by pollJobs ${stored.byFunction.get('pollJobs') ?? 0}, pollJob ${stored.byFunction.get('pollJob') ?? 0}`,
    );
    return [
      figure({
        benchmark: BENCH,
        name: '2 timer hosts + 4 workers: duplicate calls (same job, same due time)',
        measured: duplicates,
        unit: 'calls',
        target: { on: 'value', op: '<=', limit: 0 },
        note:
          `${totalCalls} upstream calls, ${totalCalls - duplicates} of them stored by their own poll: ` +
          `${stored.byFunction.get('pollJobs') ?? 0} by the timer hosts' cycles, ${stored.byFunction.get('pollJob') ?? 0} ` +
          `by the workers; ${stored.lostRaces} lost races; ${cycles.length} cycles handed off ${sum('handedOff')} ` +
          `and found ${sum('claimedElsewhere')} due jobs claimed by another holder; ${failedMessages} failed messages`,
      }),
      figure({
        benchmark: BENCH,
        name: 'calls over the budget in any 60 s, at the simulators',
        measured: over,
        unit: 'calls',
        target: { on: 'value', op: '<=', limit: 0 },
        note: `worst 60 s: ${worst.map((w, r) => `${w} of ${FLEET_RESOURCES[r]!.calls}/min`).join(', ')}`,
      }),
      figure({
        benchmark: BENCH,
        name: 'due jobs polled (all 32 due from the start)',
        measured: polledJobs,
        unit: 'jobs',
        baseline: { value: jobs.length, label: 'registered and due' },
        target: { on: 'ratio', op: '>=', limit: 1 },
      }),
      figure({
        benchmark: BENCH,
        name: 'budget use over the run (both resources oversubscribed)',
        measured: totalCalls,
        unit: 'calls',
        baseline: { value: budgetCalls, label: `budget × ${(elapsedMs / 1000).toFixed(0)} s` },
        note: 'no target: the run starts with process start-up and the first timer tick',
      }),
    ];
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

export async function benchScaleOut(options: BenchOptions): Promise<Figure[]> {
  const standIns = await startStandIns();
  try {
    options.log('  fleet under budget: 2 timer hosts, 4 workers');
    const fleet = await benchFleet(standIns, options);
    options.log('  worker throughput: 1 worker, then 4');
    const throughput = await benchWorkerThroughput(standIns, options);
    return [...fleet, ...throughput];
  } finally {
    await standIns.stop();
  }
}
