/**
 * Scenario 4 — a cycle stopped after k of its N jobs (the host shuts down or kills the invocation: the cycle's
 * abort signal fires). The next cycle finishes the rest; no job goes unpolled for more than two cycles.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CycleReport } from '../../shared/poller/poller';
import {
  MINUTE,
  recordFigures,
  startHarness,
  stopIdentityEndpoint,
  T0,
  type Harness,
  type JobSpec,
  addMixedJobs,
} from '../support/faultHarness';

const connectionString = inject('azuriteConnectionString');

const JOBS_PER_RESOURCE = 30;
const CYCLES = 6;
const CRASHED = new Set([0, 3]);
const CRASH_AFTER_CALLS = 20;

let h: Harness;
const reports: CycleReport[] = [];
/** Per cycle: the ids due at its start, and the ids it polled (an upstream answer stored). */
const dueAtStart: Set<string>[] = [];
const polledIn: Set<string>[] = [];

beforeAll(async () => {
  h = await startHarness({ connectionString, simulators: 2 });
  const specs: JobSpec[] = [];
  for (let sim = 0; sim < 2; sim++) {
    specs.push(
      ...addMixedJobs(h.sims, sim, JOBS_PER_RESOURCE, `g${sim}`, {
        createdAt: new Date(T0 - 10 * MINUTE),
        startAt: new Date(T0 - MINUTE),
        durationMs: 60 * MINUTE,
        outcome: 'succeeded',
      }),
    );
  }
  await h.register(specs);

  // Act (shared): one cycle a minute; cycles 0 and 3 are stopped after 20 upstream answers.
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const at = T0 + cycle * MINUTE;
    h.clock.set(at);
    dueAtStart.push(new Set((await h.rawStore.listDue(h.clock.now(), { limit: 1000 })).map((d) => d.job.id)));
    const stop = new AbortController();
    let answered = 0;
    const poller = h.newPoller({
      fetchUpstream: async (url, options) => {
        const response = await h.fetchUpstream(url, options);
        if (CRASHED.has(cycle) && ++answered === CRASH_AFTER_CALLS) stop.abort(new Error('host shutdown'));
        return response;
      },
    });
    reports.push(await poller.runCycle({ abortSignal: stop.signal }));
    const jobs = (await h.rawStore.list({ top: 100 })).items;
    polledIn.push(new Set(jobs.filter((j) => Date.parse(j.state.checkedAt ?? '') >= at).map((j) => j.id)));
  }
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await stopIdentityEndpoint();
});

describe('a cycle stopped after k of N jobs', () => {
  it('stops where it was told to, leaving the rest due, without counting the stop as errors', () => {
    // Prepare
    const first = reports[0]!;

    // Act
    recordFigures('s4-crash', {
      jobs: 2 * JOBS_PER_RESOURCE,
      crashAfterAnswers: CRASH_AFTER_CALLS,
      cycles: reports.map((r, i) => ({
        cycle: i,
        crashed: CRASHED.has(i),
        dueAtStart: dueAtStart[i]!.size,
        polled: r.polled,
        errors: r.errors,
      })),
    });

    // Assess
    expect(first.due).toBe(2 * JOBS_PER_RESOURCE);
    expect(first.polled).toBeGreaterThanOrEqual(CRASH_AFTER_CALLS - 1);
    expect(first.polled).toBeLessThan(2 * JOBS_PER_RESOURCE);
    for (const report of reports) expect(report.errors).toBe(0);
  });

  it('finishes the rest in the next cycle: no due job waits more than one extra cycle', () => {
    // Prepare
    const waits = new Map<string, number>();
    let longest = 0;

    // Act
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      for (const id of dueAtStart[cycle]!) {
        const wait = polledIn[cycle]!.has(id) ? 0 : (waits.get(id) ?? 0) + 1;
        waits.set(id, wait);
        longest = Math.max(longest, wait);
      }
      for (const id of polledIn[cycle]!) waits.set(id, 0);
    }
    const leftByCrash = [...dueAtStart[0]!].filter((id) => !polledIn[0]!.has(id));

    // Assess
    recordFigures('s4-crash-waits', {
      leftByFirstCrash: leftByCrash.length,
      longestDueButUnpolledCycles: longest,
    });
    expect(leftByCrash.length).toBeGreaterThan(0);
    for (const id of leftByCrash) expect(polledIn[1]!.has(id)).toBe(true);
    expect(longest).toBeLessThanOrEqual(1);
  });

  it('writes nothing for an interrupted call: every job is either updated or untouched', async () => {
    // Prepare
    const jobs = (await h.rawStore.list({ top: 100 })).items;

    // Act
    const due = await h.rawStore.listDue(new Date(T0 + 100 * MINUTE), { limit: 1000 });

    // Assess: every job has exactly one due row, and it matches the job row.
    expect(jobs).toHaveLength(2 * JOBS_PER_RESOURCE);
    expect(due).toHaveLength(2 * JOBS_PER_RESOURCE);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    for (const handle of due) expect(handle.job).toEqual(byId.get(handle.job.id));
    for (const job of jobs) expect(job.state.status).toBe('running');
  });
});
